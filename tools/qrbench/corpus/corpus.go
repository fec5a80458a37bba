// Package corpus generates the QR frames the decoding benchmark and the
// camera tests run on: payloads typical of a payment terminal (EMVCo
// merchant-presented strings, UnionPay/WeChat/Alipay-like payment codes and
// merchant URLs), encoded with qrencode (or gozxing's encoder when qrencode is
// absent: firmware/qr's encoder, as the terminal draws codes), and drawn into 640×480 grayscale scenes as a camera would see them:
// clean, blurred, noisy, low in contrast, rotated, or in perspective.
//
// Everything is deterministic for a seed. The pixel code is plain loops over
// byte slices; it must not know how any decoder works.
package corpus

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"

	"kpos/firmware/qr"
)

// Frame size, as the camera driver captures.
const (
	Width  = 640
	Height = 480
)

// Variant is a kind of degradation.
type Variant string

// The variants, in report order.
const (
	Clean       Variant = "clean"
	Blur        Variant = "blur"
	Noise       Variant = "noise"
	LowContrast Variant = "lowcontrast"
	Rotation    Variant = "rotation"
	Perspective Variant = "perspective"
)

// Variants lists every variant of the camera corpus: a printed or
// displayed code as the terminal's camera sees it.
var Variants = []Variant{Clean, Blur, Noise, LowContrast, Rotation, Perspective}

// The degradations a phone screen brings (the screen corpus).
const (
	// Moire: the code on a screen's pixel grid (black matrix and RGB
	// stripes) sampled by the camera near the grid's own pitch.
	Moire Variant = "moire"
	// Glare: a reflection on the glass, saturating part of the code.
	Glare Variant = "glare"
	// SmallModules: a code shown small, 2.6 down to 1.3 pixels a module.
	SmallModules Variant = "smallmodules"
	// ScreenPerspective: a phone held at an angle, keystone 15–40 %.
	ScreenPerspective Variant = "screenperspective"
)

// ScreenVariants lists the screen corpus's variants.
var ScreenVariants = []Variant{Moire, Glare, SmallModules, ScreenPerspective}

// Corpus is a named set of variants the benchmark reports as one line.
type Corpus struct {
	Name     string
	Variants []Variant
}

// Corpora are the benchmark's corpora: printed codes through a camera,
// codes on phone screens, and codes whose text is not ASCII.
var Corpora = []Corpus{
	{Name: "camera", Variants: Variants},
	{Name: "screen", Variants: ScreenVariants},
	{Name: "charset", Variants: CharsetVariants},
}

// Symbol is a QR code's module matrix (true = dark), without quiet zone.
type Symbol struct {
	N    int
	Dark []bool
}

func (s Symbol) at(x, y int) bool {
	if x < 0 || y < 0 || x >= s.N || y >= s.N {
		return false
	}
	return s.Dark[y*s.N+x]
}

// Encoder turns a payload into a symbol.
type Encoder struct {
	Name   string // "qrencode" or "gozxing"
	encode func(string) (Symbol, error)
}

// Encode returns the symbol for payload.
func (e Encoder) Encode(payload string) (Symbol, error) { return e.encode(payload) }

// NewEncoder returns qrencode when it is on PATH, gozxing's encoder otherwise.
func NewEncoder() Encoder {
	if path, err := exec.LookPath("qrencode"); err == nil {
		return Encoder{Name: "qrencode", encode: func(p string) (Symbol, error) { return qrencodeSymbol(path, p) }}
	}
	return GoEncoder()
}

// GoEncoder returns gozxing's encoder, as the terminal drives it.
func GoEncoder() Encoder { return Encoder{Name: "gozxing", encode: gozxingSymbol} }

// qrencodeSymbol runs qrencode for a one-pixel-per-module PNG without margin.
func qrencodeSymbol(path, payload string) (Symbol, error) {
	cmd := exec.Command(path, "-o", "-", "-t", "PNG", "-s", "1", "-m", "0", "-l", "M")
	cmd.Stdin = strings.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Symbol{}, fmt.Errorf("corpus: qrencode: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return Symbol{}, fmt.Errorf("corpus: qrencode output: %w", err)
	}
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx() < 21 {
		return Symbol{}, fmt.Errorf("corpus: qrencode gave a %v image", b.Size())
	}
	s := Symbol{N: b.Dx(), Dark: make([]bool, b.Dx()*b.Dy())}
	for y := 0; y < s.N; y++ {
		for x := 0; x < s.N; x++ {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			s.Dark[y*s.N+x] = r < 0x8000
		}
	}
	return s, nil
}

// gozxingSymbol encodes payload as the terminal itself does (firmware/qr).
func gozxingSymbol(payload string) (Symbol, error) {
	m, err := qr.Matrix(payload)
	if err != nil {
		return Symbol{}, fmt.Errorf("corpus: %w", err)
	}
	s := Symbol{N: len(m), Dark: make([]bool, 0, len(m)*len(m))}
	for _, row := range m {
		s.Dark = append(s.Dark, row...)
	}
	return s, nil
}

// Frame is one generated camera frame.
type Frame struct {
	Variant Variant
	Index   int
	Payload string
	Param   string // the degradation's strength, for reports
	Pix     []byte // Width×Height, 8-bit gray, row-major
}

// Image returns the frame as an image.Gray sharing its pixels.
func (f Frame) Image() *image.Gray {
	return &image.Gray{Pix: f.Pix, Stride: Width, Rect: image.Rect(0, 0, Width, Height)}
}

// Generate draws frame index of variant v for payload's symbol, from seed.
// Strength grows with index modulo steps, so that a run of frames sweeps
// from mild to hard degradations.
func Generate(sym Symbol, payload string, v Variant, seed uint64, index int) Frame {
	rng := rand.New(rand.NewPCG(seed, uint64(index)<<8|uint64(variantNum(v))))
	// Strength 0..1, spread evenly over the run with a little jitter.
	s := math.Mod(float64(index)*0.618034+rng.Float64()*0.1, 1)
	sc := scene{rng: rng, sym: sym, dark: 25 + rng.Float64()*25, light: 205 + rng.Float64()*35}
	// The code's side (with its quiet zone) covers 45–75 % of the frame's height.
	quiet := 4.0
	side := (0.45 + 0.3*rng.Float64()) * Height
	ms := side / (float64(sym.N) + 2*quiet)
	angle := (rng.Float64()*6 - 3) * math.Pi / 180
	var param string
	var glare float64
	blur, noise := 0.6, 2.0
	h := similarity(ms, angle, quiet, sym.N, rng)
	switch v {
	case Clean:
		param = fmt.Sprintf("module %.1fpx", ms)
	case Blur:
		blur = 1.2 + 2.3*s
		param = fmt.Sprintf("sigma %.1fpx, module %.1fpx", blur, ms)
	case Noise:
		noise = 15 + 45*s
		param = fmt.Sprintf("sigma %.0f", noise)
	case LowContrast:
		mid := 80 + rng.Float64()*100
		amp := 40 - 30*s
		sc.dark, sc.light = mid-amp/2, mid+amp/2
		param = fmt.Sprintf("range %.0f", amp)
	case Rotation:
		angle = (10 + rng.Float64()*340) * math.Pi / 180
		h = similarity(ms, angle, quiet, sym.N, rng)
		param = fmt.Sprintf("%.0f°", angle*180/math.Pi)
	case Perspective:
		tilt := 0.08 + 0.22*s
		h = perspective(h, sym.N, quiet, tilt, rng)
		param = fmt.Sprintf("tilt %.2f", tilt)
	case Moire:
		sc.onScreen()
		// Screen pixels per module, so that one screen pixel spans 0.6 to
		// 1.6 camera pixels: the beat between the two grids is widest there.
		sc.grid = math.Round(ms / (0.6 + rng.Float64()))
		sc.grid = max(sc.grid, 2)
		h = similarity(ms, angle+(rng.Float64()*4-2)*math.Pi/180, quiet, sym.N, rng)
		param = fmt.Sprintf("%.0f screen px/module, %.2f camera px each", sc.grid, ms/sc.grid)
	case Glare:
		sc.onScreen()
		glare = 90 + 160*s
		param = fmt.Sprintf("glare %.0f", glare)
	case SmallModules:
		sc.onScreen()
		ms = 2.6 - 1.3*s
		h = similarity(ms, angle, quiet, sym.N, rng)
		param = fmt.Sprintf("module %.2fpx", ms)
	case ScreenPerspective:
		sc.onScreen()
		tilt := 0.15 + 0.25*s
		h = perspective(h, sym.N, quiet, tilt, rng)
		param = fmt.Sprintf("tilt %.2f", tilt)
	default:
		if isCharset(v) {
			param = fmt.Sprintf("module %.1fpx", ms)
		}
	}
	sc.quiet = quiet
	pix := sc.render(h)
	if glare > 0 {
		addGlare(pix, h, sym.N, glare, rng)
	}
	if blur > 0 {
		gaussian(pix, Width, Height, blur)
	}
	addNoise(pix, noise, rng)
	return Frame{Variant: v, Index: index, Payload: payload, Param: param, Pix: pix}
}

// variantNum numbers v for the random streams. The camera variants keep
// the numbers they always had, so their frames do not change.
func variantNum(v Variant) int {
	all := append(append(slices.Clone(Variants), ScreenVariants...), CharsetVariants...)
	if i := slices.Index(all, v); i >= 0 {
		return i
	}
	return len(all)
}

// scene renders a symbol through a homography onto a shaded background.
type scene struct {
	rng         *rand.Rand
	sym         Symbol
	dark, light float64
	quiet       float64
	shade       float64
	// On a phone screen: grid is screen pixels per module (0: printed, no
	// grid), bezel the width in modules of the dark phone body around the
	// lit screen margin of margin modules beyond the quiet zone.
	grid, bezel, margin float64
	bezelLevel          float64
}

// onScreen makes the scene a phone screen: a backlit code (its black is
// not black), a lit margin, then the phone's dark body.
func (sc *scene) onScreen() {
	sc.dark = 20 + sc.rng.Float64()*40
	sc.light = 185 + sc.rng.Float64()*60
	sc.margin = 1 + sc.rng.Float64()*3
	sc.bezel = 3 + sc.rng.Float64()*5
	sc.bezelLevel = 10 + sc.rng.Float64()*20
}

// homography maps symbol coordinates (modules, origin at the symbol's
// top-left corner) to image pixels.
type homography [9]float64

func (h homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// inverse returns the inverse homography (adjugate; scale is irrelevant).
func (h homography) inverse() homography {
	a, b, c, d, e, f, g, hh, i := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
	return homography{
		e*i - f*hh, c*hh - b*i, b*f - c*e,
		f*g - d*i, a*i - c*g, c*d - a*f,
		d*hh - e*g, b*g - a*hh, a*e - b*d,
	}
}

func mul(p, q homography) homography {
	var r homography
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				r[i*3+j] += p[i*3+k] * q[k*3+j]
			}
		}
	}
	return r
}

// similarity scales by ms, rotates by angle about the symbol's centre and
// places it at a random spot that keeps the quiet zone inside the frame.
func similarity(ms, angle, quiet float64, n int, rng *rand.Rand) homography {
	c := float64(n) / 2
	half := (c + quiet) * ms * (math.Abs(math.Cos(angle)) + math.Abs(math.Sin(angle)))
	cx := Width / 2.0
	cy := Height / 2.0
	if room := Width/2.0 - half; room > 0 {
		cx += (rng.Float64()*2 - 1) * room * 0.8
	}
	if room := Height/2.0 - half; room > 0 {
		cy += (rng.Float64()*2 - 1) * room * 0.8
	}
	cs, sn := math.Cos(angle)*ms, math.Sin(angle)*ms
	return homography{cs, -sn, cx - cs*c + sn*c, sn, cs, cy - sn*c - cs*c, 0, 0, 1}
}

// perspective tilts the placement h: the corners of the quiet-zone square
// move by up to tilt of its side, as when the code is held at an angle.
func perspective(h homography, n int, quiet, tilt float64, rng *rand.Rand) homography {
	lo, hi := -quiet, float64(n)+quiet
	src := [4][2]float64{{lo, lo}, {hi, lo}, {hi, hi}, {lo, hi}}
	var dst [4][2]float64
	x0, y0 := h.apply(lo, lo)
	x1, y1 := h.apply(hi, lo)
	side := math.Hypot(x1-x0, y1-y0)
	// Keystone: one edge shrinks, the opposite one does not, plus jitter.
	edge := rng.IntN(4)
	for i, p := range src {
		x, y := h.apply(p[0], p[1])
		cx, cy := h.apply(float64(n)/2, float64(n)/2)
		if i == edge || i == (edge+1)%4 {
			x += (cx - x) * tilt
			y += (cy - y) * tilt
		}
		x += (rng.Float64()*2 - 1) * tilt * side * 0.15
		y += (rng.Float64()*2 - 1) * tilt * side * 0.15
		dst[i] = [2]float64{x, y}
	}
	return quadToQuad(src, dst)
}

// quadToQuad solves the homography taking src's corners to dst's.
func quadToQuad(src, dst [4][2]float64) homography {
	a := squareToQuad(src)
	b := squareToQuad(dst)
	return mul(b, a.inverse())
}

// squareToQuad maps the unit square's corners (0,0),(1,0),(1,1),(0,1) to q.
func squareToQuad(q [4][2]float64) homography {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx3, dy3 := x0-x1+x2-x3, y0-y1+y2-y3
	if dx3 == 0 && dy3 == 0 {
		return homography{x1 - x0, x3 - x0, x0, y1 - y0, y3 - y0, y0, 0, 0, 1}
	}
	dx1, dx2, dy1, dy2 := x1-x2, x3-x2, y1-y2, y3-y2
	den := dx1*dy2 - dx2*dy1
	g := (dx3*dy2 - dx2*dy3) / den
	hh := (dx1*dy3 - dx3*dy1) / den
	return homography{x1 - x0 + g*x1, x3 - x0 + hh*x3, x0, y1 - y0 + g*y1, y3 - y0 + hh*y3, y0, g, hh, 1}
}

// render draws the frame, supersampling each pixel 3×3 so that module edges
// are anti-aliased as a lens would make them.
func (sc *scene) render(h homography) []byte {
	inv := h.inverse()
	pix := make([]byte, Width*Height)
	// Background: a soft gradient, like a counter under a lamp.
	g0 := 60 + sc.rng.Float64()*80
	gx := (sc.rng.Float64()*2 - 1) * 60 / Width
	gy := (sc.rng.Float64()*2 - 1) * 60 / Height
	lo, hi := -sc.quiet, float64(sc.sym.N)+sc.quiet
	// The drawn region: quiet zone, and on a screen its margin and bezel.
	lo -= sc.margin + sc.bezel
	hi += sc.margin + sc.bezel
	// Light falls off across the code too.
	sc.shade = (sc.rng.Float64()*2 - 1) * 0.12
	// Only pixels near the symbol need supersampling.
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{lo, lo}, {hi, lo}, {hi, hi}, {lo, hi}} {
		x, y := h.apply(c[0], c[1])
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	// cell names the module (or quiet-zone square, or the background: -1)
	// a point of the symbol plane falls in.
	cell := func(u, v float64) int {
		if u < lo || u >= hi || v < lo || v >= hi {
			return -1
		}
		return int(math.Floor(v)-lo)*4096 + int(math.Floor(u)-lo)
	}
	corners := func(y int, out []int) {
		for x := range out {
			out[x] = cell(inv.apply(float64(x), float64(y)))
		}
	}
	top, bottom := make([]int, Width+1), make([]int, Width+1)
	corners(0, top)
	for y := 0; y < Height; y++ {
		corners(y+1, bottom)
		for x := 0; x < Width; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if float64(x) < x0-1 || float64(x) > x1+1 || float64(y) < y0-1 || float64(y) > y1+1 {
				pix[y*Width+x] = clamp(g0 + gx*fx + gy*fy)
				continue
			}
			// A pixel whose four corners lie in one module lies wholly in
			// it (the map keeps squares convex): one sample will do.
			if c := top[x]; sc.grid == 0 && sc.bezel == 0 && c == top[x+1] && c == bottom[x] && c == bottom[x+1] {
				u, v := inv.apply(fx, fy)
				if c < 0 {
					pix[y*Width+x] = clamp(g0 + gx*fx + gy*fy)
				} else {
					pix[y*Width+x] = clamp(sc.value(u, v))
				}
				continue
			}
			var sum float64
			for sy := 0; sy < 3; sy++ {
				for sx := 0; sx < 3; sx++ {
					fx := float64(x) + (float64(sx)+0.5)/3
					fy := float64(y) + (float64(sy)+0.5)/3
					u, v := inv.apply(fx, fy)
					if u >= lo && u < hi && v >= lo && v < hi {
						sum += sc.value(u, v)
					} else {
						sum += g0 + gx*fx + gy*fy
					}
				}
			}
			pix[y*Width+x] = clamp(sum / 9)
		}
		top, bottom = bottom, top
	}
	return pix
}

// value is the brightness of the symbol plane at (u, v), shading included.
func (sc *scene) value(u, v float64) float64 {
	n := float64(sc.sym.N)
	if e := sc.quiet + sc.margin; u < -e || v < -e || u >= n+e || v >= n+e {
		return sc.bezelLevel // the phone's body
	}
	val := sc.light
	if sc.sym.at(int(math.Floor(u)), int(math.Floor(v))) {
		val = sc.dark
	}
	if sc.grid > 0 {
		val *= screenMask(u*sc.grid, v*sc.grid)
	}
	return val * (1 + sc.shade*(u/n-0.5))
}

// screenMask is the light a screen pixel gives at (x, y) in screen pixels:
// red, green and blue stripes of different luminance across each pixel, and
// the black matrix (a fifth of the pitch) between pixels.
func screenMask(x, y float64) float64 {
	fx, fy := x-math.Floor(x), y-math.Floor(y)
	if fx > 0.8 || fy > 0.8 {
		return 0.3
	}
	switch {
	case fx < 0.27:
		return 0.8 // red
	case fx < 0.53:
		return 1.1 // green
	}
	return 0.7 // blue
}

// addGlare adds a reflection: a bright elliptical blob of the given peak
// over part of the code, light scattered into everything under it.
func addGlare(pix []byte, h homography, n int, peak float64, rng *rand.Rand) {
	cx, cy := h.apply(float64(n)*(0.2+0.6*rng.Float64()), float64(n)*(0.2+0.6*rng.Float64()))
	x0, y0 := h.apply(0, 0)
	x1, y1 := h.apply(float64(n), 0)
	side := math.Hypot(x1-x0, y1-y0)
	sx := side * (0.08 + 0.12*rng.Float64())
	sy := sx * (0.4 + 0.6*rng.Float64())
	a := rng.Float64() * math.Pi
	ca, sa := math.Cos(a), math.Sin(a)
	for y := 0; y < Height; y++ {
		for x := 0; x < Width; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			u, v := (dx*ca+dy*sa)/sx, (-dx*sa+dy*ca)/sy
			g := peak * math.Exp(-(u*u+v*v)/2)
			if g < 0.5 {
				continue
			}
			p := float64(pix[y*Width+x])
			pix[y*Width+x] = clamp(p + g*(1-p/400))
		}
	}
}

func clamp(v float64) byte {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return byte(v + 0.5)
}

// gaussian blurs pix in place with a separable kernel of the given sigma.
func gaussian(pix []byte, w, h int, sigma float64) {
	r := int(math.Ceil(sigma * 3))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float64
			for i, kv := range k {
				xx := min(max(x+i-r, 0), w-1)
				acc += kv * float64(pix[y*w+xx])
			}
			tmp[y*w+x] = acc
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float64
			for i, kv := range k {
				yy := min(max(y+i-r, 0), h-1)
				acc += kv * tmp[yy*w+x]
			}
			pix[y*w+x] = clamp(acc)
		}
	}
}

// addNoise adds Gaussian sensor noise of the given sigma.
func addNoise(pix []byte, sigma float64, rng *rand.Rand) {
	if sigma <= 0 {
		return
	}
	for i, p := range pix {
		pix[i] = clamp(float64(p) + rng.NormFloat64()*sigma)
	}
}
