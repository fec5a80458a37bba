package camera

import (
	"errors"
	"image"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary pixels (tiled over a 96×80 frame, and as a
// YUYV frame) to the conversion and the whole pipeline: no panic, and every
// failure is ErrNoCode or ErrUnreadable.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 255, 0, 255, 255, 0}, uint8(7))
	f.Add([]byte("\x00\x00\x00\xff\xff\xff\x00\x00\x00"), uint8(3))
	d := NewDecoder(DecoderConfig{Budget: 50 * time.Millisecond})
	f.Fuzz(func(t *testing.T, pix []byte, period uint8) {
		if len(pix) == 0 {
			return
		}
		const w, h = 96, 80
		img := image.NewGray(image.Rect(0, 0, w, h))
		p := int(period)%len(pix) + 1
		for i := range img.Pix {
			img.Pix[i] = pix[(i/p)%len(pix)]
		}
		if err := yuyvToGray(img, pix); err == nil && len(pix) < w*h*2 {
			t.Fatal("short YUYV frame accepted")
		}
		if _, err := d.Decode(img); err != nil && !errors.Is(err, ErrNoCode) && !errors.Is(err, ErrUnreadable) {
			t.Fatalf("Decode error %v", err)
		}
	})
}
