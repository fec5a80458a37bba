package camera

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"

	"kpos/hal"
)

// ErrNoCode reports a frame in which no QR code was found.
var ErrNoCode = errors.New("camera: no code in frame")

// ErrUnreadable is the error for a frame in which a code was seen (three finder
// patterns located and a grid sampled) but no attempt could decode it. It
// wraps hal.ErrScanUnreadable.
var ErrUnreadable = fmt.Errorf("camera: code seen but not decodable: %w", hal.ErrScanUnreadable)

// DecoderConfig tunes the decoding pipeline.
type DecoderConfig struct {
	// Budget bounds the time spent on one frame; when it runs out the
	// remaining attempts are skipped. It is counted in CPU time of the
	// decoding thread (wall time where that clock is missing), so that a
	// loaded machine decodes the same frames, only later. DefaultBudget
	// when zero.
	Budget time.Duration
}

// DefaultBudget is the decoding time per frame unless configured: a fifth
// of a 15 fps camera's frame interval. A code that one frame cannot give
// up within it is usually read from one of the next frames, which come
// anyway; spending more on one frame only delays them.
const DefaultBudget = 12 * time.Millisecond

// Decoder finds and decodes a QR code in grayscale frames. It runs a list of
// attempts, cheapest and likeliest first, each a preprocessing (scaling,
// contrast stretch, denoising, sharpening) and a binarizer (block-adaptive
// with several neighbourhoods and flatness rules, or one global threshold);
// gozxing's detector and decoder then read the bit matrix. It stops at the
// first attempt that decodes.
//
// A Decoder keeps scratch buffers between frames and is not safe for
// concurrent use.
type Decoder struct {
	cfg      DecoderConfig
	dec      *decoder.Decoder
	hints    map[gozxing.DecodeHintType]any
	harder   map[gozxing.DecodeHintType]any
	bufs     [6][]byte
	intBufs  [3][]int
	thr      []uint8
	wordBuf  []uint32
	offs     [][2]float64
	tmp      []int32
	halfImg  gray
	halfOK   bool
	flatUsed int // the flat-block range of the last adaptive binarization
	row      *gozxing.BitArray
	stats    map[string]int
	matrix   *gozxing.BitMatrix
	mw, mh   int
	lastTry  string
	// confirmed is the most finder-pattern candidates confirmed on two
	// scan rows or more in one of this frame's first attempts; matrixOf is
	// the attempt d.matrix holds.
	confirmed  int
	smallCands [][3]float64 // finder candidates of small modules: x, y, module (frame pixels)
	matrixOf   int
	cost       []time.Duration // by attempt; see learnCost
	ran        int             // attempts run on the last frame
	order      []int           // this frame's order of attempts
	resume     int             // the later attempt the next frame starts with
}

// NewDecoder returns a decoder.
func NewDecoder(cfg DecoderConfig) *Decoder {
	if cfg.Budget == 0 {
		cfg.Budget = DefaultBudget
	}
	return &Decoder{
		cfg: cfg,
		dec: decoder.NewDecoder(),
		// No character-set hint: a byte segment is read in the character
		// set its ECI designator names (ISO/IEC 18004:2015 7.4.3), and
		// without one the set is recognised from the bytes as zxing does
		// (UTF-8 when the bytes are valid UTF-8 with a multi-byte sequence,
		// then Shift_JIS, then ISO-8859-1, the standard's default).
		// Payment codes are digits, alphanumerics or ASCII bytes, which
		// every rule reads the same: they come back byte for byte.
		hints:  map[gozxing.DecodeHintType]any{},
		harder: map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true},
		cost:   make([]time.Duration, len(attempts)),
		stats:  make(map[string]int),
	}
}

// Stats returns how many frames each attempt decoded, by attempt name.
func (d *Decoder) Stats() map[string]int {
	out := make(map[string]int, len(d.stats))
	for k, v := range d.stats {
		out[k] = v
	}
	return out
}

// gray is a grayscale plane.
type gray struct {
	w, h int
	pix  []byte
}

// attempt is one way of turning a frame into a bit matrix.
type attempt struct {
	name   string
	prep   func(d *Decoder, g gray) gray // preprocessing; nil keeps the frame
	bin    func(d *Decoder, g gray)      // binarizer into d.matrix
	harder bool                          // let the detector scan every row
	scale  float64                       // frame pixels per matrix pixel (1 when zero)
}

// The attempts, in order of codes decoded per millisecond on the
// benchmark's corpora. The first ones (up to gate) are cheap and decode
// most frames: a quarter-resolution pass for large codes, half resolution
// (a quarter of the pixels, noise halved; codes up to version 10 at the
// sizes a customer shows them keep modules of two pixels or more), full
// resolution for small modules, and light modules on a dark ground (a phone
// in dark mode, an inverted sticker).
var attempts = []attempt{
	{name: "quarter", prep: func(d *Decoder, g gray) gray { return d.halfInto(d.half(g), 2) }, bin: adaptive(1, 4), scale: 4},
	{name: "half-harder", prep: (*Decoder).half, bin: adaptive(2, 6), harder: true, scale: 2},
	{name: "half", prep: (*Decoder).half, bin: adaptiveAuto(2, 0.4, 3), scale: 2},
	// A smaller neighbourhood keeps a dark background next to the code out
	// of the thresholds of the modules near the code's edge, which matters
	// when the code itself has little contrast.
	{name: "half-near", prep: (*Decoder).half, bin: adaptiveAuto(1, 0.4, 3), scale: 2},
	{name: "half-inverted", prep: (*Decoder).half, bin: func(d *Decoder, g gray) {
		d.adaptive(g, 2, 3, 0.4)
		d.matrix.FlipAll()
	}, scale: 2},
	{name: "full-wide", bin: adaptive(4, 12)},
	{name: "full", bin: adaptive(2, 12)},
	// After the gate: blurred, noisy, faint codes.
	{name: "full-deblur-strong", prep: func(d *Decoder, g gray) gray { return d.deblur(g, 3, 3) }, bin: adaptiveAuto(2, 1.2, 12)},
	{name: "half-lowcontrast", prep: (*Decoder).half, bin: adaptive(2, 3), scale: 2},
	{name: "full-denoise-lowcontrast", prep: (*Decoder).box3, bin: adaptive(2, 2)},
	{name: "full-deblur", prep: func(d *Decoder, g gray) gray { return d.deblur(g, 2, 2) }, bin: adaptiveAuto(2, 1.2, 12)},
	{name: "full-near", bin: adaptive(1, 6)},
	{name: "full-stretch-global", prep: (*Decoder).stretch, bin: global},
	{name: "full-sharpen", prep: (*Decoder).sharpen, bin: adaptive(2, 12)},
	{name: "full-denoise-harder", prep: (*Decoder).box3, bin: adaptive(2, 6), harder: true},
}

// gate is how many attempts run on every frame. When none of them finds a
// finder-pattern candidate confirmed on two scan rows (a 1:1:3:1:1 run
// crossed by another), the frame holds no code, or one too small to see
// but through a magnified crop of its unconfirmed candidates: Decode gives
// up there, so that a frame without a code costs the first attempts only
// (2–6 ms here), not the budget. On the benchmark's corpora almost every
// frame that a later attempt decodes has such a candidate by then.
const gate = 7

// cornerSearches bounds the fourth-corner searches per frame, and
// cornerRadius how far (in modules) each moves the corner.
const (
	cornerSearches = 2
	cornerRadius   = 3
)

// Decode returns the text of the QR code in img, ErrNoCode when none is
// found, or ErrUnreadable (wrapping hal.ErrScanUnreadable) when one is seen but
// cannot be decoded within the budget.
func (d *Decoder) Decode(img *image.Gray) (string, error) {
	g := grayOf(img)
	if g.w < 64 || g.h < 64 {
		return "", ErrNoCode
	}
	clock := startClock()
	defer clock.stop()
	f := &frameRun{d: d, g: g, clock: clock}
	d.halfOK = false
	d.confirmed = 0
	d.ran = 0
	d.smallCands = d.smallCands[:0]
	order := d.plan()
	stopped := -1 // the first later attempt the budget left out
	defer func() {
		if stopped >= 0 {
			d.resume = stopped
		}
	}()
	for pos, i := range order {
		if pos == gate {
			if text, done, err := f.atGate(); done {
				return text, err
			}
		}
		if f.over() {
			if pos >= gate && stopped < 0 {
				stopped = i
			}
			break
		}
		// An attempt that would not finish within the budget (by what it
		// cost on earlier frames) is skipped: a cheaper one after it may.
		if clock.elapsed()+d.cost[i] > d.cfg.Budget && pos >= gate {
			if stopped < 0 {
				stopped = i
			}
			continue
		}
		if text, ok := f.try(pos, i); ok {
			stopped = -1
			return text, nil
		}
	}
	if len(f.seen) > 0 {
		return "", ErrUnreadable
	}
	return "", ErrNoCode
}

// grayOf is img as a plane without padding, copied only when it has some.
func grayOf(img *image.Gray) gray {
	b := img.Bounds()
	g := gray{w: b.Dx(), h: b.Dy(), pix: img.Pix}
	if img.Stride != b.Dx() || b.Min != (image.Point{}) {
		pix := make([]byte, b.Dx()*b.Dy())
		for y := 0; y < b.Dy(); y++ {
			copy(pix[y*b.Dx():], img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:b.Dx()])
		}
		g.pix = pix
	}
	return g
}

// plan returns this frame's order of attempts: the first gate ones, then
// the later ones starting where the budget stopped the last frame, so that
// the frames of a code held in front of the camera try them all in turn.
func (d *Decoder) plan() []int {
	order := d.order[:0]
	for i := range gate {
		order = append(order, i)
	}
	later := len(attempts) - gate
	start := max(d.resume-gate, 0) % later
	for k := range later {
		order = append(order, gate+(start+k)%later)
	}
	d.order = order
	d.resume = gate
	return order
}

// sighting is a code seen (finder patterns located, grid sampled) but not
// decoded, by attempt at, for the zoom, refine and fourth-corner searches.
type sighting struct {
	at  int
	det *common.DetectorResult
}

// frameRun is what Decode knows of the frame it works on.
type frameRun struct {
	d        *Decoder
	g        gray
	clock    budgetClock
	seen     []sighting
	searched int // fourth-corner searches run
}

func (f *frameRun) over() bool { return f.clock.elapsed() > f.d.cfg.Budget }

// search runs the fourth-corner search on the matrix s was seen in.
func (f *frameRun) search(s sighting) (string, bool) {
	f.searched++
	if s.at != f.d.matrixOf {
		f.d.binarize(f.g, s.at) // the matrix the code was seen in
	}
	return f.d.cornerSearch(s.det, f.over)
}

// try runs attempt i, at position pos of the frame's order, and keeps what
// it saw when it cannot read it.
func (f *frameRun) try(pos, i int) (string, bool) {
	d, a := f.d, attempts[i]
	t0 := f.clock.elapsed()
	d.ran++
	d.binarize(f.g, i)
	text, det, err := d.read(a.harder)
	d.learnCost(i, f.clock.elapsed()-t0)
	if err == nil {
		d.note(a.name)
		return text, true
	}
	if det == nil {
		return "", false
	}
	s := sighting{at: i, det: det}
	if pos < gate {
		// One sighting at half resolution and one at full at most.
		if len(f.seen) == 0 || (len(f.seen) == 1 && (a.prep == nil) != (attempts[f.seen[0].at].prep == nil)) {
			f.seen = append(f.seen, s)
		}
		return "", false
	}
	f.seen = append(f.seen, s)
	if f.searched < cornerSearches {
		if text, ok := f.search(s); ok {
			d.note(a.name + "+corner")
			return text, true
		}
	}
	return "", false
}

// atGate runs between the first attempts and the later ones. done is set
// when Decode ends here: with the text, or ErrNoCode when nothing like a
// finder pattern was seen.
func (f *frameRun) atGate() (text string, done bool, err error) {
	d := f.d
	if d.confirmed == 0 {
		// Nothing like a finder pattern, unless very small ones.
		if text, ok := d.zoomCandidates(f.g); ok {
			d.note("zoom")
			return text, true, nil
		}
		return "", true, ErrNoCode
	}
	// The first attempts saw the code but could not read it. A code of
	// small modules is read again from a magnified crop; otherwise the
	// fourth corner is likely off (perspective, or no alignment pattern in
	// version 1): search for it before the slower attempts.
	for _, s := range f.seen {
		if f.over() {
			break
		}
		if text, ok := d.zoom(f.g, s.det, attempts[s.at].scale); ok {
			d.note(attempts[s.at].name + "+zoom")
			return text, true, nil
		}
	}
	if len(f.seen) == 0 && !f.over() {
		if text, ok := d.zoomCandidates(f.g); ok {
			d.note("zoom")
			return text, true, nil
		}
	}
	// A larger code under perspective: fit the perspective to its
	// alignment patterns (see refine).
	for _, s := range f.seen {
		if f.over() {
			break
		}
		if s.at != d.matrixOf {
			d.binarize(f.g, s.at)
		}
		if text, ok := d.refine(s.det, f.over); ok {
			d.note(attempts[s.at].name + "+refine")
			return text, true, nil
		}
	}
	for _, s := range f.seen {
		if f.searched == cornerSearches {
			break
		}
		if text, ok := f.search(s); ok {
			d.note(attempts[s.at].name + "+corner")
			return text, true, nil
		}
	}
	return "", false, nil
}

// zoomBelow is the module size (frame pixels) under which a code seen but
// not decoded is read again from a magnified crop, and zoomFactor the
// magnification.
const (
	zoomBelow   = 3.0
	zoomFactor  = 3
	zoomMaxSide = 240
)

// zoom crops the region of a located code (its finder patterns and a
// margin of eight modules) from the frame, magnifies it zoomFactor times by
// bilinear interpolation, and decodes that: modules of one and a half
// pixels become four and a half, which the binarizer and the grid sampling
// resolve. scale converts the detector's points to frame pixels.
func (d *Decoder) zoom(g gray, det *common.DetectorResult, scale float64) (string, bool) {
	pts := det.GetPoints()
	dim := det.GetBits().GetWidth()
	if len(pts) < 3 || dim <= 7 {
		return "", false
	}
	if scale == 0 {
		scale = 1
	}
	bl, tl, tr := pts[0], pts[1], pts[2]
	module := scale * math.Hypot(tr.GetX()-tl.GetX(), tr.GetY()-tl.GetY()) / float64(dim-7)
	if module >= zoomBelow || module <= 0 {
		return "", false
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [][2]float64{{bl.GetX(), bl.GetY()}, {tl.GetX(), tl.GetY()}, {tr.GetX(), tr.GetY()},
		{tr.GetX() + bl.GetX() - tl.GetX(), tr.GetY() + bl.GetY() - tl.GetY()}} {
		x0, y0 = min(x0, p[0]*scale), min(y0, p[1]*scale)
		x1, y1 = max(x1, p[0]*scale), max(y1, p[1]*scale)
	}
	return d.zoomBox(g, x0, y0, x1, y1, 8*module)
}

// zoomCandidates is zoom for a frame in which no attempt located a code
// but the finder search saw candidates of small modules (at least three):
// the crop is the box around them.
func (d *Decoder) zoomCandidates(g gray) (string, bool) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	n := 0
	var module float64
	for _, c := range d.smallCands {
		x0, y0, x1, y1 = min(x0, c[0]), min(y0, c[1]), max(x1, c[0]), max(y1, c[1])
		module = max(module, c[2])
		n++
	}
	// A code of small modules is small: a spread-out cluster is speckle.
	if n < 3 || x1-x0 > 200 || y1-y0 > 200 {
		return "", false
	}
	return d.zoomBox(g, x0, y0, x1, y1, 12*module)
}

// zoomBox magnifies the box (x0, y0)–(x1, y1) of frame pixels with a
// margin of m, and decodes it as it is and sharpened.
func (d *Decoder) zoomBox(g gray, x0, y0, x1, y1, m float64) (string, bool) {
	cx0, cy0 := max(int(x0-m), 0), max(int(y0-m), 0)
	cx1, cy1 := min(int(x1+m)+1, g.w-1), min(int(y1+m)+1, g.h-1)
	// A code of small modules is small (version 10 at three pixels a
	// module, with its margin, is about 220 pixels): a larger box comes
	// from speckle taken for finder patterns, and magnified it would cost
	// more than the whole budget.
	if cx1-cx0 < 16 || cy1-cy0 < 16 || cx1-cx0 > zoomMaxSide || cy1-cy0 > zoomMaxSide {
		return "", false
	}
	z := d.magnify(g, cx0, cy0, cx1-cx0, cy1-cy0)
	d.matrixOf = -1
	d.adaptive(z, 2, 3, 0.4)
	if text, _, err := d.read(true); err == nil {
		return text, true
	}
	// The lens spread each module over its neighbours: restore the edges.
	sh := d.deblurSlot(z, zoomFactor, 2, 5)
	d.adaptive(sh, 2, 3, 0.4)
	text, _, err := d.read(true)
	return text, err == nil
}

// magnify returns the w×h crop of g at (x0, y0), zoomFactor times larger,
// interpolated bilinearly.
func (d *Decoder) magnify(g gray, x0, y0, w, h int) gray {
	const k = zoomFactor
	zw, zh := w*k, h*k
	out := d.buf(4, zw*zh)
	for zy := 0; zy < zh; zy++ {
		fy := (float64(zy)+0.5)/k - 0.5
		iy := int(math.Floor(fy))
		wy := fy - float64(iy)
		ya, yb := y0+min(max(iy, 0), h-1), y0+min(max(iy+1, 0), h-1)
		ra, rb := g.pix[ya*g.w:], g.pix[yb*g.w:]
		o := out[zy*zw : (zy+1)*zw]
		for zx := range o {
			fx := (float64(zx)+0.5)/k - 0.5
			ix := int(math.Floor(fx))
			wx := fx - float64(ix)
			xa, xb := x0+min(max(ix, 0), w-1), x0+min(max(ix+1, 0), w-1)
			top := float64(ra[xa])*(1-wx) + float64(ra[xb])*wx
			bot := float64(rb[xa])*(1-wx) + float64(rb[xb])*wx
			o[zx] = byte(top*(1-wy) + bot*wy + 0.5)
		}
	}
	return gray{w: zw, h: zh, pix: out}
}

// learnCost keeps a running estimate (an exponential average over frames)
// of what attempt i costs on this machine.
func (d *Decoder) learnCost(i int, took time.Duration) {
	if d.cost[i] == 0 {
		d.cost[i] = took
		return
	}
	d.cost[i] += (took - d.cost[i]) / 8
}

// binarize runs attempt i's preprocessing and binarizer into d.matrix.
func (d *Decoder) binarize(g gray, i int) {
	a := attempts[i]
	src := g
	if a.prep != nil {
		src = a.prep(d, g)
	}
	a.bin(d, src)
	d.matrixOf = i
}

func (d *Decoder) note(name string) {
	d.stats[name]++
	d.lastTry = name
}

// LastAttempt names the attempt that decoded the last successful frame.
func (d *Decoder) LastAttempt() string { return d.lastTry }

// read runs gozxing's detector and decoder on d.matrix. det is the
// detector's result when it located a code, even if decoding failed.
func (d *Decoder) read(harder bool) (text string, det *common.DetectorResult, err error) {
	// A panic in the decoding library on a pathological frame must not
	// take the terminal down: it counts as a frame without a code.
	defer func() {
		if r := recover(); r != nil {
			text, det, err = "", nil, fmt.Errorf("camera: decoder panic: %v", r)
		}
	}()
	hints := d.hints
	if harder {
		hints = d.harder
	}
	det, err = d.detect(hints)
	if err != nil {
		return "", nil, err
	}
	res, err := d.dec.Decode(det.GetBits(), hints)
	if err != nil {
		return "", det, err
	}
	return res.GetText(), det, nil
}

// detect locates the code in d.matrix: gozxing's finder pattern search,
// and when its choice fails (it wants the three patterns' module sizes
// within 1.4× of each other, which a steep perspective breaks) a second
// choice among the same candidates allowing 2×.
func (d *Decoder) detect(hints map[gozxing.DecodeHintType]any) (*common.DetectorResult, error) {
	finder := detector.NewFinderPatternFinder(d.matrix, nil)
	info, err := finder.Find(hints)
	cands := finder.GetPossibleCenters()
	confirmed := 0
	for _, c := range cands {
		if c.GetCount() >= 2 {
			confirmed++
		}
	}
	if d.matrixOf >= 0 && d.matrixOf < gate {
		d.confirmed = max(d.confirmed, confirmed)
	}
	if d.matrixOf >= 0 && len(d.smallCands) < 64 {
		scale := max(attempts[d.matrixOf].scale, 1)
		for _, c := range cands {
			if m := c.GetEstimatedModuleSize() * scale; m < zoomBelow {
				d.smallCands = append(d.smallCands, [3]float64{c.GetX() * scale, c.GetY() * scale, m})
			}
		}
	}
	if err != nil {
		info = relaxedPatterns(finder.GetPossibleCenters())
		if info == nil {
			return nil, err
		}
	}
	return detector.NewDetector(d.matrix).ProcessFinderPatternInfo(info)
}

// relaxedPatterns picks the three candidates closest to an isosceles right
// triangle whose module sizes are within 2× of each other.
// Only candidates confirmed on more than one scan line take part, so that
// speckle in a scene without a code does not pass for one.
func relaxedPatterns(all []*detector.FinderPattern) *detector.FinderPatternInfo {
	var c []*detector.FinderPattern
	for _, p := range all {
		if p.GetCount() >= 2 && p.GetEstimatedModuleSize() >= 1.5 {
			c = append(c, p)
		}
	}
	if len(c) < 3 || len(c) > 12 {
		return nil
	}
	best := math.MaxFloat64
	var pick [3]*detector.FinderPattern
	for i := 0; i < len(c); i++ {
		for j := i + 1; j < len(c); j++ {
			for k := j + 1; k < len(c); k++ {
				lo := min(c[i].GetEstimatedModuleSize(), c[j].GetEstimatedModuleSize(), c[k].GetEstimatedModuleSize())
				hi := max(c[i].GetEstimatedModuleSize(), c[j].GetEstimatedModuleSize(), c[k].GetEstimatedModuleSize())
				if hi > 2*lo {
					continue
				}
				s := []float64{sq(c[i], c[j]), sq(c[j], c[k]), sq(c[i], c[k])}
				slices.Sort(s)
				if s[0] < 1 {
					continue
				}
				// |c² − 2b²| + |c² − 2a²|, relative to the size.
				dist := (math.Abs(s[2]-2*s[1]) + math.Abs(s[2]-2*s[0])) / s[2]
				if dist < best {
					best, pick = dist, [3]*detector.FinderPattern{c[i], c[j], c[k]}
				}
			}
		}
	}
	if pick[0] == nil || best > 0.8 {
		return nil
	}
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(pick[0], pick[1], pick[2])
	return detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern))
}

func sq(a, b *detector.FinderPattern) float64 {
	dx, dy := a.GetX()-b.GetX(), a.GetY()-b.GetY()
	return dx*dx + dy*dy
}

// cornerSearch retries the grid sampling of a located code with the
// bottom-right control point moved around the detector's estimate, in order
// of distance, until the grid decodes or the budget runs out.
func (d *Decoder) cornerSearch(det *common.DetectorResult, over func() bool) (text string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			text, ok = "", false
		}
	}()
	pts := det.GetPoints()
	if len(pts) < 3 {
		return "", false
	}
	bl, tl, tr := pts[0], pts[1], pts[2]
	dim := det.GetBits().GetWidth()
	span := float64(dim) - 7 // modules between finder centres
	if span <= 0 {
		return "", false
	}
	// Where the detector put (dim-6.5, dim-6.5): an alignment pattern when
	// it found one, else the parallelogram's corner pulled in by 3 modules.
	var ex, ey float64
	if len(pts) > 3 {
		ex, ey = pts[3].GetX(), pts[3].GetY()
	} else {
		k := (span - 3) / span
		ex = tl.GetX() + k*(tr.GetX()-tl.GetX()+bl.GetX()-tl.GetX())
		ey = tl.GetY() + k*(tr.GetY()-tl.GetY()+bl.GetY()-tl.GetY())
	}
	// One module along each axis, in pixels.
	ux, uy := (tr.GetX()-tl.GetX())/span, (tr.GetY()-tl.GetY())/span
	vx, vy := (bl.GetX()-tl.GetX())/span, (bl.GetY()-tl.GetY())/span
	for _, o := range d.offsets() {
		if over() {
			return "", false
		}
		x := ex + o[0]*ux + o[1]*vx
		y := ey + o[0]*uy + o[1]*vy
		tf := detector.Detector_createTransform(tl, tr, bl, detector.NewAlignmentPattern(x, y, 1), dim)
		bits, err := detector.Detector_sampleGrid(d.matrix, tf, dim)
		if err != nil {
			continue
		}
		res, err := d.dec.Decode(bits, d.hints)
		if err == nil {
			return res.GetText(), true
		}
	}
	return "", false
}

// offsets lists candidate displacements (in modules) of the fourth control
// point, nearest first, out to cornerRadius modules in half-module steps.
// On the benchmark's corpora nine searches in ten that succeed do so within
// two and a half modules, and a failing search costs every offset.
func (d *Decoder) offsets() [][2]float64 {
	if d.offs != nil {
		return d.offs
	}
	const steps = 2 * cornerRadius
	for i := -steps; i <= steps; i++ {
		for j := -steps; j <= steps; j++ {
			if i == 0 && j == 0 || i*i+j*j > steps*steps {
				continue
			}
			d.offs = append(d.offs, [2]float64{float64(i) / 2, float64(j) / 2})
		}
	}
	slices.SortStableFunc(d.offs, func(a, b [2]float64) int {
		return cmp.Compare(a[0]*a[0]+a[1]*a[1], b[0]*b[0]+b[1]*b[1])
	})
	return d.offs
}

// buf returns scratch buffer i with at least n bytes.
func (d *Decoder) buf(i, n int) []byte {
	if cap(d.bufs[i]) < n {
		d.bufs[i] = make([]byte, n)
	}
	return d.bufs[i][:n]
}

// newMatrix readies d.matrix for a w×h image.
func (d *Decoder) newMatrix(w, h int) {
	if d.matrix == nil || d.mw != w || d.mh != h {
		d.matrix, _ = gozxing.NewBitMatrix(w, h)
		d.row = gozxing.NewBitArray(w)
		d.mw, d.mh = w, h
	}
}

// setRow stores one row of bits (words of 32 pixels, bit set = black).
func (d *Decoder) setRow(y int, words []uint32) {
	for i, w := range words {
		d.row.SetBulk(i*32, w)
	}
	d.matrix.SetRow(y, d.row)
}

// adaptive returns a block-adaptive binarizer: the frame is cut into 8×8
// blocks, each block's threshold is the mean of the averages of the
// (2r+1)² blocks around it, and blocks whose range is at most minDynamic
// (flat) take their neighbours' level, as zxing's hybrid binarizer does, but
// in word-parallel loops. A negative minDynamic is chosen from the frame's
// noise (autoFlat).
func adaptive(r, minDynamic int) func(d *Decoder, g gray) {
	return func(d *Decoder, g gray) { d.adaptive(g, r, minDynamic, 0) }
}

// adaptiveAuto is adaptive with the flat range taken from the frame: scale
// times the median block range (see autoFlat), at least lo.
func adaptiveAuto(r int, scale float64, lo int) func(d *Decoder, g gray) {
	return func(d *Decoder, g gray) { d.adaptive(g, r, lo, scale) }
}

func (d *Decoder) adaptive(g gray, r, minDynamic int, scale float64) {
	w, h := g.w&^7, g.h&^7
	bw, bh := w>>3, h>>3
	nb := bw * bh
	avg := d.ints(0, nb)
	los := d.ints(2, nb)
	var ranges [256]int
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			sum, lo, hi := blockStats(g.pix[by*8*g.w+bx*8:], g.w)
			k := by*bw + bx
			avg[k] = sum >> 6
			los[k] = lo
			ranges[hi-lo]++
			// Keep the range in the sign-free upper bits of los.
			los[k] |= (hi - lo) << 8
		}
	}
	if scale > 0 {
		minDynamic = autoFlat(ranges[:], nb, scale, minDynamic)
	}
	d.flatUsed = minDynamic
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			k := by*bw + bx
			lo, rng := los[k]&0xff, los[k]>>8
			if rng <= minDynamic {
				// Flat: assume background unless darker than the
				// neighbours already computed.
				a := lo / 2
				if by > 0 && bx > 0 {
					n := (avg[k-bw] + 2*avg[k-1] + avg[k-bw-1]) / 4
					if lo < n {
						a = n
					}
				}
				avg[k] = a
			}
		}
	}
	// Neighbourhood means by a summed-area table over the block averages.
	sat := d.ints(1, (bw+1)*(bh+1))
	for by := 0; by < bh; by++ {
		run := 0
		for bx := 0; bx < bw; bx++ {
			run += avg[by*bw+bx]
			sat[(by+1)*(bw+1)+bx+1] = sat[by*(bw+1)+bx+1] + run
		}
	}
	thr := d.bytes(nb)
	for by := 0; by < bh; by++ {
		y0, y1 := max(by-r, 0), min(by+r+1, bh)
		for bx := 0; bx < bw; bx++ {
			x0, x1 := max(bx-r, 0), min(bx+r+1, bw)
			s := sat[y1*(bw+1)+x1] - sat[y0*(bw+1)+x1] - sat[y1*(bw+1)+x0] + sat[y0*(bw+1)+x0]
			thr[by*bw+bx] = uint8(s / ((y1 - y0) * (x1 - x0)))
		}
	}
	d.newMatrix(w, h)
	words := d.words((w + 31) / 32)
	for y := 0; y < h; y++ {
		row := g.pix[y*g.w : y*g.w+w]
		t := thr[(y>>3)*bw : (y>>3)*bw+bw]
		for bx, tv := range t {
			bits := darkBits(binary.LittleEndian.Uint64(row[bx*8:]), tv)
			if bx&3 == 0 {
				words[bx>>2] = bits
			} else {
				words[bx>>2] |= bits << ((bx & 3) * 8)
			}
		}
		d.setRow(y, words)
	}
}

// SWAR constants: eight byte lanes in a uint64.
const (
	lanesHigh = 0x8080808080808080
	lanesLow7 = 0x7f7f7f7f7f7f7f7f
	lanesOne  = 0x0101010101010101
	lanes16   = 0x00ff00ff00ff00ff
	gather    = 0x0102040810204080 // moves bit 0 of each byte into the top byte
)

// blockStats returns the sum, minimum and maximum of the 8×8 block at the
// start of pix (rows stride apart). Sums are exact; minimum and maximum are
// taken on 7-bit values (even numbers), enough for the flatness test.
func blockStats(pix []byte, stride int) (sum, lo, hi int) {
	var acc uint64
	mn := uint64(lanesLow7)
	var mx uint64
	for y := 0; y < 8; y++ {
		v := binary.LittleEndian.Uint64(pix[y*stride:])
		acc += v&lanes16 + (v>>8)&lanes16
		v7 := (v >> 1) & lanesLow7
		ge := (((mn | lanesHigh) - v7) & lanesHigh) >> 7 * 0xff // lanes where mn >= v7
		mn = (v7 & ge) | (mn &^ ge)
		ge = (((v7 | lanesHigh) - mx) & lanesHigh) >> 7 * 0xff // lanes where v7 >= mx
		mx = (v7 & ge) | (mx &^ ge)
	}
	sum = int((acc * 0x0001000100010001) >> 48)
	lo, hi = 255, 0
	for i := 0; i < 64; i += 8 {
		lo = min(lo, int(mn>>i&0x7f))
		hi = max(hi, int(mx>>i&0x7f))
	}
	return sum, lo * 2, hi * 2
}

// darkBits compares eight pixels with threshold t and returns one bit per
// pixel, pixel i in bit i, set when the pixel is dark (p <= t). Even and
// odd pixels are compared in 16-bit lanes so that no precision is lost.
func darkBits(v uint64, t uint8) uint32 {
	tt := uint64(t)*0x0001000100010001 | 0x0100010001000100
	even := ((tt - v&lanes16) >> 8) & 0x0001000100010001
	odd := ((tt - (v>>8)&lanes16) >> 8) & 0x0001000100010001
	return uint32(((even | odd<<8) * gather) >> 56)
}

func (d *Decoder) ints(i, n int) []int {
	if cap(d.intBufs[i]) < n {
		d.intBufs[i] = make([]int, n)
	}
	b := d.intBufs[i][:n]
	clear(b)
	return b
}

func (d *Decoder) bytes(n int) []uint8 {
	if cap(d.thr) < n {
		d.thr = make([]uint8, n)
	}
	return d.thr[:n]
}

func (d *Decoder) words(n int) []uint32 {
	if cap(d.wordBuf) < n {
		d.wordBuf = make([]uint32, n)
	}
	b := d.wordBuf[:n]
	clear(b)
	return b
}

// global binarizes at one threshold for the whole frame: the deepest valley
// between the two main peaks of a 32-bin histogram, nearer the dark peak
// (zxing's global histogram rule).
func global(d *Decoder, g gray) {
	var hist [32]int
	for _, p := range g.pix {
		hist[p>>3]++
	}
	first := 0
	for i, c := range hist {
		if c > hist[first] {
			first = i
		}
	}
	second, best := 0, 0
	for i, c := range hist {
		dist := i - first
		if s := c * dist * dist; s > best {
			second, best = i, s
		}
	}
	lo, hi := min(first, second), max(first, second)
	peak := hist[first]
	valley, vs := hi-1, -1
	for i := hi - 1; i > lo; i-- {
		from := i - lo
		score := from * from * (hi - i) * (peak - hist[i])
		if score > vs {
			valley, vs = i, score
		}
	}
	d.threshold(g, uint8(valley<<3))
}

// threshold binarizes g at t.
func (d *Decoder) threshold(g gray, t uint8) {
	d.newMatrix(g.w, g.h)
	words := d.words((g.w + 31) / 32)
	for y := 0; y < g.h; y++ {
		clear(words)
		for x, p := range g.pix[y*g.w : (y+1)*g.w] {
			if p < t {
				words[x>>5] |= 1 << (x & 31)
			}
		}
		d.setRow(y, words)
	}
}

// stretch maps the 1st–99th percentile of g onto 0–255 (contrast stretching).
func (d *Decoder) stretch(g gray) gray {
	const slot = 1
	var hist [256]int
	for _, p := range g.pix {
		hist[p]++
	}
	n := len(g.pix)
	lo, hi := 0, 255
	for acc := 0; lo < 255; lo++ {
		if acc += hist[lo]; acc > n/100 {
			break
		}
	}
	for acc := 0; hi > 0; hi-- {
		if acc += hist[hi]; acc > n/100 {
			break
		}
	}
	if hi <= lo {
		return g
	}
	var lut [256]byte
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = byte(min(max(v, 0), 255))
	}
	out := d.buf(slot, len(g.pix))
	for i, p := range g.pix {
		out[i] = lut[p]
	}
	return gray{w: g.w, h: g.h, pix: out}
}

// half downsamples the frame by two, averaging 2×2 blocks (which also
// halves the noise); it is computed once per frame.
func (d *Decoder) half(g gray) gray {
	if !d.halfOK {
		d.halfImg = d.halfInto(g, 0)
		d.halfOK = true
	}
	return d.halfImg
}

// autoFlat picks the block range at or below which a block counts as flat
// from the frame's own blocks: most blocks are plain background, so the
// median range is what noise alone gives 64 samples (about 4.8σ). On a
// frame as captured, 0.4 of that (twice σ) lets a faint code stand out, and
// the finder pattern search tolerates the speckle left on plain
// backgrounds; after sharpening, which amplifies noise, the whole median is
// used so that the speckle does not pass for finder patterns.
func autoFlat(ranges []int, n int, scale float64, lo int) int {
	acc := 0
	for i, c := range ranges {
		if acc += c; acc*2 >= n {
			return min(max(int(float64(i)*scale), lo), 48)
		}
	}
	return 48
}

func (d *Decoder) halfInto(g gray, slot int) gray {
	w, h := g.w/2, g.h/2
	out := d.buf(slot, w*h)
	for y := 0; y < h; y++ {
		r0 := g.pix[2*y*g.w : 2*y*g.w+2*w]
		r1 := g.pix[(2*y+1)*g.w : (2*y+1)*g.w+2*w]
		o := out[y*w : (y+1)*w]
		x := 0
		for ; x+4 <= w; x += 4 {
			a := binary.LittleEndian.Uint64(r0[2*x:])
			b := binary.LittleEndian.Uint64(r1[2*x:])
			s := a&lanes16 + (a>>8)&lanes16 + b&lanes16 + (b>>8)&lanes16
			s = ((s + 0x0002000200020002) >> 2) & lanes16
			o[x] = byte(s)
			o[x+1] = byte(s >> 16)
			o[x+2] = byte(s >> 32)
			o[x+3] = byte(s >> 48)
		}
		for ; x < w; x++ {
			o[x] = byte((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) >> 2)
		}
	}
	return gray{w: w, h: h, pix: out}
}

// deblur is a wide unsharp mask, pixel + gain·(pixel − blurred), where the
// blur is two passes of a (2r+1)² box filter (close to a Gaussian of
// σ ≈ 0.8r): it restores the module edges a defocused lens spreads over
// several pixels.
func (d *Decoder) deblur(g gray, r, gain int) gray { return d.deblurSlot(g, r, gain, 2) }

// deblurSlot is deblur into scratch buffer slot.
func (d *Decoder) deblurSlot(g gray, r, gain, slot int) gray {
	b := d.boxInto(d.boxInto(g, r, 3), r, 3)
	out := d.buf(slot, len(g.pix))
	for i, p := range g.pix {
		v := int(p) + gain*(int(p)-int(b.pix[i]))
		out[i] = byte(min(max(v, 0), 255))
	}
	return gray{w: g.w, h: g.h, pix: out}
}

// boxInto is a (2r+1)² mean filter by running sums, edges clamped; src and
// the destination slot may be the same buffer.
func (d *Decoder) boxInto(g gray, r, slot int) gray {
	w, h := g.w, g.h
	if cap(d.tmp) < w*h {
		d.tmp = make([]int32, w*h)
	}
	tmp := d.tmp[:w*h]
	n := int32(2*r + 1)
	for y := 0; y < h; y++ {
		row := g.pix[y*w : (y+1)*w]
		var s int32
		for i := -r; i <= r; i++ {
			s += int32(row[min(max(i, 0), w-1)])
		}
		for x := 0; x < w; x++ {
			tmp[y*w+x] = s
			s += int32(row[min(x+r+1, w-1)]) - int32(row[max(x-r, 0)])
		}
	}
	out := d.buf(slot, w*h)
	for x := 0; x < w; x++ {
		var s int32
		for i := -r; i <= r; i++ {
			s += tmp[min(max(i, 0), h-1)*w+x]
		}
		for y := 0; y < h; y++ {
			out[y*w+x] = byte(s / (n * n))
			s += tmp[min(y+r+1, h-1)*w+x] - tmp[max(y-r, 0)*w+x]
		}
	}
	return gray{w: w, h: h, pix: out}
}

// box3 is a 3×3 mean filter (denoising).
func (d *Decoder) box3(g gray) gray { return d.box3Into(g, 1) }

func (d *Decoder) box3Into(g gray, slot int) gray {
	w, h := g.w, g.h
	out := d.buf(slot, w*h)
	cols := make([]int, w)
	for y := 0; y < h; y++ {
		ya, yb := max(y-1, 0), min(y+1, h-1)
		for x := 0; x < w; x++ {
			cols[x] = int(g.pix[ya*w+x]) + int(g.pix[y*w+x]) + int(g.pix[yb*w+x])
		}
		o := out[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			s := cols[max(x-1, 0)] + cols[x] + cols[min(x+1, w-1)]
			o[x] = byte(s / 9)
		}
	}
	return gray{w: w, h: h, pix: out}
}

// sharpen is an unsharp mask: 2·pixel − 3×3 mean, which restores the edges
// a defocused lens softens.
func (d *Decoder) sharpen(g gray) gray {
	const slot = 2
	blur := d.box3Into(g, 3)
	out := d.buf(slot, len(g.pix))
	for i, p := range g.pix {
		v := 2*int(p) - int(blur.pix[i])
		out[i] = byte(min(max(v, 0), 255))
	}
	return gray{w: g.w, h: g.h, pix: out}
}
