package camera

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/blackjack/webcam"
)

// V4L2 fourcc codes.
const (
	fourccYUYV webcam.PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	fourccGREY webcam.PixelFormat = 'G' | 'R'<<8 | 'E'<<16 | 'Y'<<24
)

// v4l2Source streams frames from a V4L2 device through memory-mapped
// buffers and keeps only their luminance.
type v4l2Source struct {
	cam    *webcam.Webcam
	format webcam.PixelFormat
	img    *image.Gray
}

func openV4L2(cfg Config) (*v4l2Source, error) {
	cam, err := webcam.Open(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("camera: open %s: %w", cfg.Device, err)
	}
	format, err := pickFormat(cam.GetSupportedFormats(), cfg.Format)
	if err != nil {
		cam.Close()
		return nil, err
	}
	got, w, h, err := cam.SetImageFormat(format, uint32(cfg.Width), uint32(cfg.Height))
	if err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: set format: %w", err)
	}
	if got != format || int(w) != cfg.Width || int(h) != cfg.Height {
		cam.Close()
		return nil, fmt.Errorf("camera: device gave %v %dx%d, want %v %dx%d", got, w, h, format, cfg.Width, cfg.Height)
	}
	if err := cam.SetBufferCount(4); err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: buffers: %w", err)
	}
	if err := cam.StartStreaming(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: start streaming: %w", err)
	}
	return &v4l2Source{cam: cam, format: format, img: image.NewGray(image.Rect(0, 0, cfg.Width, cfg.Height))}, nil
}

// pickFormat chooses the wanted format, or GREY then YUYV when none is named.
func pickFormat(supported map[webcam.PixelFormat]string, want string) (webcam.PixelFormat, error) {
	var order []webcam.PixelFormat
	switch want {
	case FormatGREY:
		order = []webcam.PixelFormat{fourccGREY}
	case FormatYUYV:
		order = []webcam.PixelFormat{fourccYUYV}
	case "":
		order = []webcam.PixelFormat{fourccGREY, fourccYUYV}
	default:
		return 0, fmt.Errorf("camera: format %q not supported (YUYV or GREY)", want)
	}
	for _, f := range order {
		if _, ok := supported[f]; ok {
			return f, nil
		}
	}
	return 0, fmt.Errorf("camera: device offers neither of the formats wanted (%q)", want)
}

func (s *v4l2Source) next(ctx context.Context) (*image.Gray, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// WaitForFrame counts whole seconds; frames come every 33–66 ms,
		// so ctx is looked at again at least once a second.
		err := s.cam.WaitForFrame(1)
		var timeout *webcam.Timeout
		if errors.As(err, &timeout) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("camera: wait for frame: %w", err)
		}
		buf, index, err := s.cam.GetFrame()
		if err != nil {
			return nil, fmt.Errorf("camera: read frame: %w", err)
		}
		if s.format == fourccYUYV {
			err = yuyvToGray(s.img, buf)
		} else {
			err = greyToGray(s.img, buf)
		}
		if rerr := s.cam.ReleaseFrame(index); rerr != nil && err == nil {
			err = fmt.Errorf("camera: release frame: %w", rerr)
		}
		if err != nil {
			return nil, err
		}
		return s.img, nil
	}
}

func (s *v4l2Source) close() error {
	serr := s.cam.StopStreaming()
	if err := s.cam.Close(); err != nil {
		return fmt.Errorf("camera: close: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("camera: stop streaming: %w", serr)
	}
	return nil
}
