package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"kpos/hal"
)

// Pixel formats the driver captures.
const (
	FormatYUYV = "YUYV" // packed 4:2:2, luminance in every other byte
	FormatGREY = "GREY" // 8-bit luminance only
)

// Config is the camera's part of a board file.
type Config struct {
	Device string // V4L2 device, e.g. /dev/video0
	Width  int    // 640 when zero
	Height int    // 480 when zero
	// Format is FormatYUYV or FormatGREY; empty picks GREY when the camera
	// offers it, else YUYV.
	Format string
	// Budget bounds decoding time per frame (see DecoderConfig).
	Budget time.Duration
	// UnreadableAfter is how many consecutive frames must show a code that
	// cannot be decoded before Scan gives up with hal.ErrScanUnreadable;
	// 8 when zero (about half a second at 15 frames per second).
	UnreadableAfter int
}

func (c Config) withDefaults() Config {
	if c.Width == 0 {
		c.Width = 640
	}
	if c.Height == 0 {
		c.Height = 480
	}
	if c.UnreadableAfter == 0 {
		c.UnreadableAfter = 8
	}
	return c
}

// frameSource yields grayscale frames; the V4L2 capture is one, tests use
// frames generated in memory.
type frameSource interface {
	// next returns the next frame, valid until the following call.
	next(ctx context.Context) (*image.Gray, error)
	close() error
}

// Camera is a QR scanner on a camera. Scan must not be called concurrently.
type Camera struct {
	cfg Config
	src frameSource
	dec *Decoder
}

var _ hal.Scanner = (*Camera)(nil)

// Open opens the V4L2 device of cfg and starts streaming.
func Open(cfg Config) (*Camera, error) {
	cfg = cfg.withDefaults()
	src, err := openV4L2(cfg)
	if err != nil {
		return nil, err
	}
	return newCamera(src, cfg), nil
}

func newCamera(src frameSource, cfg Config) *Camera {
	cfg = cfg.withDefaults()
	return &Camera{cfg: cfg, src: src, dec: NewDecoder(DecoderConfig{Budget: cfg.Budget})}
}

// Close stops streaming and closes the device.
func (c *Camera) Close() error { return c.src.close() }

// Scan decodes frames until one yields a code and returns its text. When
// UnreadableAfter consecutive frames show a code (finder patterns found, a
// grid sampled) that no attempt can decode, it returns an error wrapping
// hal.ErrScanUnreadable so that the caller can ask for a rescan; a frame
// without any code resets that count. It returns ctx's error when ctx ends.
func (c *Camera) Scan(ctx context.Context) (string, error) {
	seen := 0
	for {
		img, err := c.src.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", err
		}
		text, err := c.dec.Decode(img)
		switch {
		case err == nil:
			return text, nil
		case errors.Is(err, hal.ErrScanUnreadable):
			if seen++; seen >= c.cfg.UnreadableAfter {
				return "", fmt.Errorf("%w (%d frames)", err, seen)
			}
		default:
			seen = 0
		}
	}
}

// yuyvToGray takes the luminance bytes of a packed YUYV frame.
func yuyvToGray(dst *image.Gray, src []byte) error {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(src) < w*h*2 {
		return fmt.Errorf("camera: YUYV frame of %d bytes, want %d", len(src), w*h*2)
	}
	for y := 0; y < h; y++ {
		row := src[y*w*2 : (y+1)*w*2]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := range out {
			out[x] = row[2*x]
		}
	}
	return nil
}

// greyToGray copies a GREY frame.
func greyToGray(dst *image.Gray, src []byte) error {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(src) < w*h {
		return fmt.Errorf("camera: GREY frame of %d bytes, want %d", len(src), w*h)
	}
	for y := 0; y < h; y++ {
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+w], src[y*w:(y+1)*w])
	}
	return nil
}
