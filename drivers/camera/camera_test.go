package camera

import (
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/blackjack/webcam"

	"kpos/hal"
	"kpos/tools/qrbench/corpus"
)

// sliceSource plays frames in order, then waits for ctx.
type sliceSource struct {
	frames []*image.Gray
	i      int
	closed bool
}

func (s *sliceSource) next(ctx context.Context) (*image.Gray, error) {
	if s.i < len(s.frames) {
		s.i++
		return s.frames[s.i-1], nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *sliceSource) close() error { s.closed = true; return nil }

// loopSource repeats one frame forever.
type loopSource struct{ img *image.Gray }

func (s loopSource) next(ctx context.Context) (*image.Gray, error) { return s.img, ctx.Err() }
func (s loopSource) close() error                                  { return nil }

func blank() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, corpus.Width, corpus.Height))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range g.Pix {
		g.Pix[i] = byte(120 + rng.IntN(6))
	}
	return g
}

func frame(t testing.TB, v corpus.Variant, i int) corpus.Frame {
	t.Helper()
	p := corpus.Payloads(7, i+1)[i]
	sym, err := corpus.NewEncoder().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return corpus.Generate(sym, p, v, 7, i)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Each variant's mildest frames (indices whose strength is lowest) must scan
// after frames without a code.
func TestScanEachVariant(t *testing.T) {
	for _, v := range corpus.Variants {
		for _, i := range []int{0, 5, 13} {
			f := frame(t, v, i)
			t.Run(string(v)+"/"+f.Param, func(t *testing.T) {
				src := &sliceSource{frames: []*image.Gray{blank(), blank(), f.Image()}}
				cam := newCamera(src, Config{Budget: time.Second})
				got, err := cam.Scan(ctxT(t, 10*time.Second))
				if err != nil || got != f.Payload {
					t.Fatalf("Scan = %q, %v; want %q", got, err, f.Payload)
				}
				if src.i != 3 {
					t.Errorf("decoded after %d frames, want 3", src.i)
				}
				if err := cam.Close(); err != nil || !src.closed {
					t.Errorf("Close = %v", err)
				}
			})
		}
	}
}

// Across a sweep from mild to hard, each variant keeps a floor success rate
// (the benchmark reports the exact figures against the reference decoders).
func TestDecodeSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep")
	}
	// One frame of slack below what the pipeline decodes today.
	floors := map[corpus.Variant]int{
		corpus.Clean: 12, corpus.Blur: 10, corpus.Noise: 11, corpus.LowContrast: 10,
		corpus.Rotation: 11, corpus.Perspective: 10,
	}
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	for _, v := range corpus.Variants {
		ok := 0
		for i := range 12 {
			f := frame(t, v, i)
			if text, err := d.Decode(f.Image()); err == nil && text == f.Payload {
				ok++
			}
		}
		t.Logf("%s: %d of 12", v, ok)
		if ok < floors[v] {
			t.Errorf("%s: decoded %d of 12, floor %d", v, ok, floors[v])
		}
	}
}

// A code whose data modules are wrecked is seen but unreadable: Decode says
// so, and Scan gives up with hal.ErrScanUnreadable after UnreadableAfter
// such frames.
func TestUnreadable(t *testing.T) {
	p := corpus.Payloads(7, 1)[0] // an EMVCo string: a large symbol
	sym, err := corpus.NewEncoder().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for y := 10; y < sym.N-10; y++ {
		for x := 10; x < sym.N-10; x++ {
			sym.Dark[y*sym.N+x] = rng.IntN(2) == 0
		}
	}
	f := corpus.Generate(sym, p, corpus.Clean, 7, 0)
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	if _, err := d.Decode(f.Image()); !errors.Is(err, hal.ErrScanUnreadable) {
		t.Fatalf("Decode of a wrecked code = %v, want ErrScanUnreadable", err)
	}
	if _, err := d.Decode(blank()); !errors.Is(err, ErrNoCode) {
		t.Fatalf("Decode of a blank frame = %v, want ErrNoCode", err)
	}
	cam := newCamera(loopSource{f.Image()}, Config{Budget: time.Second, UnreadableAfter: 3})
	if _, err := cam.Scan(ctxT(t, 30*time.Second)); !errors.Is(err, hal.ErrScanUnreadable) {
		t.Fatalf("Scan = %v, want ErrScanUnreadable", err)
	}
}

func TestScanNothingUntilDeadline(t *testing.T) {
	src := &sliceSource{frames: []*image.Gray{blank(), blank()}}
	cam := newCamera(src, Config{})
	ctx := ctxT(t, 50*time.Millisecond)
	if _, err := cam.Scan(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan = %v, want the deadline", err)
	}
}

func TestPixelFormats(t *testing.T) {
	dst := image.NewGray(image.Rect(0, 0, 4, 2))
	yuyv := []byte{10, 1, 20, 2, 30, 3, 40, 4, 50, 5, 60, 6, 70, 7, 80, 8}
	if err := yuyvToGray(dst, yuyv); err != nil {
		t.Fatal(err)
	}
	if string(dst.Pix) != string([]byte{10, 20, 30, 40, 50, 60, 70, 80}) {
		t.Errorf("YUYV luminance = %v", dst.Pix)
	}
	if err := yuyvToGray(dst, yuyv[:15]); err == nil {
		t.Error("short YUYV frame accepted")
	}
	grey := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := greyToGray(dst, grey); err != nil || string(dst.Pix) != string(grey) {
		t.Errorf("GREY = %v, %v", dst.Pix, err)
	}
	if err := greyToGray(dst, grey[:7]); err == nil {
		t.Error("short GREY frame accepted")
	}
	tests := []struct {
		offered []webcam.PixelFormat
		want    string
		got     webcam.PixelFormat
		fails   bool
	}{
		{[]webcam.PixelFormat{fourccYUYV, fourccGREY}, "", fourccGREY, false},
		{[]webcam.PixelFormat{fourccYUYV}, "", fourccYUYV, false},
		{[]webcam.PixelFormat{fourccYUYV, fourccGREY}, FormatYUYV, fourccYUYV, false},
		{[]webcam.PixelFormat{fourccYUYV}, FormatGREY, 0, true},
		{[]webcam.PixelFormat{fourccYUYV}, "MJPG", 0, true},
	}
	for _, tc := range tests {
		m := map[webcam.PixelFormat]string{}
		for _, f := range tc.offered {
			m[f] = "x"
		}
		got, err := pickFormat(m, tc.want)
		if (err != nil) != tc.fails || got != tc.got {
			t.Errorf("pickFormat(%v, %q) = %v, %v", tc.offered, tc.want, got, err)
		}
	}
	if _, err := Open(Config{Device: "/dev/video-does-not-exist"}); err == nil {
		t.Error("Open of a missing device succeeded")
	}
}

func TestInvertedCode(t *testing.T) {
	f := frame(t, corpus.Clean, 2)
	inv := image.NewGray(image.Rect(0, 0, corpus.Width, corpus.Height))
	for i, p := range f.Pix {
		inv.Pix[i] = 255 - p
	}
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	got, err := d.Decode(inv)
	if err != nil || got != f.Payload {
		t.Fatalf("inverted code: %q, %v", got, err)
	}
	if d.LastAttempt() != "half-inverted" {
		t.Errorf("decoded by %s", d.LastAttempt())
	}
}

// A frame without anything like a finder pattern stops at the gate: it
// costs the first attempts, not the budget. A frame with a code does not.
func TestNoFinderGivesUpEarly(t *testing.T) {
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	if _, err := d.Decode(blank()); !errors.Is(err, ErrNoCode) {
		t.Fatalf("blank frame: %v", err)
	}
	if d.ran > gate {
		t.Errorf("blank frame ran %d attempts, gate %d", d.ran, gate)
	}
	// A scene with blocks but no finder pattern.
	sym := corpus.Symbol{N: 25, Dark: make([]bool, 625)}
	rng := rand.New(rand.NewPCG(8, 9))
	for y := 9; y < 25; y++ {
		for x := 9; x < 25; x++ {
			sym.Dark[y*25+x] = rng.IntN(2) == 0
		}
	}
	f := corpus.Generate(sym, "", corpus.Clean, 8, 0)
	if _, err := d.Decode(f.Image()); err == nil {
		t.Fatal("decoded a frame without a code")
	}
	if d.ran > gate {
		t.Errorf("frame without finder patterns ran %d attempts, gate %d", d.ran, gate)
	}
	// A blurred code that only a later attempt reads passes the gate.
	for i := range 24 {
		f := frame(t, corpus.Blur, i)
		if text, err := d.Decode(f.Image()); err == nil && text == f.Payload && d.ran > gate {
			return
		}
	}
	t.Error("no blurred frame was decoded after the gate")
}

// Text comes back in the character set the code names with an ECI, or
// the one its bytes are in when it names none (UTF-8, Shift_JIS,
// ISO-8859-1), never forced to UTF-8; payment codes come back byte for
// byte.
func TestCharsets(t *testing.T) {
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	for _, v := range corpus.CharsetVariants {
		for i, s := range corpus.Samples(v, 5) {
			sym, err := corpus.EncodeSample(s)
			if err != nil {
				t.Fatal(err)
			}
			f := corpus.Generate(sym, s.Text, v, 11, i)
			got, err := d.Decode(f.Image())
			if err != nil || got != s.Text {
				t.Errorf("%s %s (ECI %v): %q, %v; want %q", v, s.Charset, s.ECI, got, err, s.Text)
			}
		}
	}
	for i, p := range corpus.Payloads(11, 6) {
		sym, err := corpus.NewEncoder().Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		f := corpus.Generate(sym, p, corpus.Clean, 11, i)
		if got, err := d.Decode(f.Image()); err != nil || got != p {
			t.Errorf("payment payload %d: %q, %v", i, got, err)
		}
	}
}

// The phone-screen degradations keep a floor too: moiré, glare, small
// modules (read from a magnified crop) and steep perspective (fitted to the
// alignment patterns).
func TestDecodeScreenSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep")
	}
	floors := map[corpus.Variant]int{
		corpus.Moire: 11, corpus.Glare: 11, corpus.SmallModules: 9, corpus.ScreenPerspective: 9,
	}
	// A budget no machine reaches, so that the count measures the
	// decoder's attempts and not the speed of the CPU it runs on (under
	// qemu a 100 ms budget left attempts out); time is the bench's.
	d := NewDecoder(DecoderConfig{Budget: time.Minute})
	for _, v := range corpus.ScreenVariants {
		ok := 0
		for i := range 12 {
			f := frame(t, v, i)
			if text, err := d.Decode(f.Image()); err == nil && text == f.Payload {
				ok++
			}
		}
		t.Logf("%s: %d of 12", v, ok)
		if ok < floors[v] {
			t.Errorf("%s: decoded %d of 12, floor %d", v, ok, floors[v])
		}
	}
}

// When the budget leaves later attempts out, the next frame starts with
// the first of them, so that the frames of a code held still try every
// attempt in turn.
func TestLaterAttemptsRotate(t *testing.T) {
	p := corpus.Payloads(7, 1)[0]
	sym, err := corpus.NewEncoder().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for y := 10; y < sym.N-10; y++ {
		for x := 10; x < sym.N-10; x++ {
			sym.Dark[y*sym.N+x] = rng.IntN(2) == 0
		}
	}
	f := corpus.Generate(sym, p, corpus.Clean, 7, 0) // seen, never readable
	d := NewDecoder(DecoderConfig{Budget: time.Second})
	// Every later attempt but the first looks too dear for the budget.
	for i := gate + 1; i < len(attempts); i++ {
		d.cost[i] = time.Hour
	}
	if _, err := d.Decode(f.Image()); !errors.Is(err, hal.ErrScanUnreadable) {
		t.Fatalf("Decode = %v", err)
	}
	if d.order[gate] != gate {
		t.Fatalf("first frame's later attempts start at %d, want %d", d.order[gate], gate)
	}
	d.cost[gate+1] = 0
	if _, err := d.Decode(f.Image()); !errors.Is(err, hal.ErrScanUnreadable) {
		t.Fatalf("Decode = %v", err)
	}
	if d.order[gate] != gate+1 {
		t.Errorf("second frame's later attempts start at %d, want %d (where the first stopped)", d.order[gate], gate+1)
	}
	if d.order[len(d.order)-1] != gate {
		t.Errorf("second frame ends with %d, want %d (the order wraps)", d.order[len(d.order)-1], gate)
	}
}
