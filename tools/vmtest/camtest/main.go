// Command camtest runs inside the VM (tools/vmtest cross-builds it for ARM
// and boots the image with it): it drives the kernel's vivid test driver, a
// real V4L2 stack, as a camera that sees a customer's payment code. It
// finds vivid's video output and capture nodes, turns vivid's video loop on,
// writes frames showing a QR code to the output node, and has the real
// drivers/camera capture them from the capture node and decode them. The
// decoded text must be the code written and a payment code to the
// firmware's classifier. It prints "camtest: ok ..." or "camtest: FAIL ...".
//
// camtest must not know the firmware beyond the camera driver and the QR
// classifier.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"kpos/drivers/camera"
	"kpos/firmware/qr"
)

func main() {
	code := flag.String("code", "251001020123456789012345", "the payment code the frames show")
	flag.Parse()
	if err := run(*code); err != nil {
		fmt.Println("camtest: FAIL:", err)
		os.Exit(1)
	}
}

// V4L2 (include/uapi/linux/videodev2.h).
const (
	bufTypeVideoCapture = 1
	bufTypeVideoOutput  = 2
	capVideoCapture     = 0x00000001
	capVideoOutput      = 0x00000002
	ctrlFlagNextCtrl    = 0x80000000
	fourccYUYV          = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	// both fields in every buffer: vivid loops only when capture and
	// output agree, and an output in alternate fields takes no write()
	fieldInterlaced = 4
)

// ioc builds an _IOWR request number for the V4L2 ioctl nr with an
// argument of size bytes.
func ioc(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 'V'<<8 | nr }

// struct v4l2_format: the type, then a 200-byte union aligned as a pointer.
var (
	fmtUnionOff = int(unsafe.Sizeof(uintptr(0)))
	fmtSize     = uintptr(fmtUnionOff + 200)
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// pixFormat is the head of struct v4l2_pix_format.
type pixFormat struct{ width, height, pixelformat, field, bytesperline, sizeimage uint32 }

func getFmt(fd int, typ uint32) (pixFormat, []byte, error) {
	buf := make([]byte, fmtSize)
	binary.LittleEndian.PutUint32(buf, typ)
	if err := ioctl(fd, ioc(4, fmtSize), unsafe.Pointer(&buf[0])); err != nil {
		return pixFormat{}, nil, fmt.Errorf("VIDIOC_G_FMT: %w", err)
	}
	return decodePix(buf), buf, nil
}

func decodePix(buf []byte) pixFormat {
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(buf[fmtUnionOff+4*i:]) }
	return pixFormat{u(0), u(1), u(2), u(3), u(4), u(5)}
}

// setFmt sets YUYV, interlaced, at the node's current size and returns
// what the driver settled on.
func setFmt(fd int, typ uint32) (pixFormat, error) {
	_, buf, err := getFmt(fd, typ)
	if err != nil {
		return pixFormat{}, err
	}
	binary.LittleEndian.PutUint32(buf[fmtUnionOff+8:], fourccYUYV)
	binary.LittleEndian.PutUint32(buf[fmtUnionOff+12:], fieldInterlaced)
	if err := ioctl(fd, ioc(5, fmtSize), unsafe.Pointer(&buf[0])); err != nil {
		return pixFormat{}, fmt.Errorf("VIDIOC_S_FMT: %w", err)
	}
	return decodePix(buf), nil
}

// capabilities returns the device_caps of struct v4l2_capability.
func capabilities(fd int) (uint32, error) {
	var c [104]byte
	if err := ioctl(fd, ioc(0, 104)&^(1<<30), unsafe.Pointer(&c[0])); err != nil { // _IOR
		return 0, fmt.Errorf("VIDIOC_QUERYCAP: %w", err)
	}
	return binary.LittleEndian.Uint32(c[88:]), nil
}

// setControl finds a control by name (vivid's controls are
// driver-private) and sets it.
func setControl(fd int, name string, value int32) error {
	var q [68]byte // struct v4l2_queryctrl
	id := uint32(0)
	for {
		q = [68]byte{}
		binary.LittleEndian.PutUint32(q[0:], id|ctrlFlagNextCtrl)
		if err := ioctl(fd, ioc(36, 68), unsafe.Pointer(&q[0])); err != nil {
			return fmt.Errorf("no control %q: %w", name, err)
		}
		id = binary.LittleEndian.Uint32(q[0:])
		if strings.TrimRight(string(q[8:40]), "\x00") == name {
			break
		}
	}
	var c [8]byte // struct v4l2_control
	binary.LittleEndian.PutUint32(c[0:], id)
	binary.LittleEndian.PutUint32(c[4:], uint32(value))
	if err := ioctl(fd, ioc(28, 8), unsafe.Pointer(&c[0])); err != nil {
		return fmt.Errorf("VIDIOC_S_CTRL %q: %w", name, err)
	}
	return nil
}

// nodes finds vivid's video capture and output nodes.
func nodes() (capture, output string, err error) {
	paths, _ := filepath.Glob("/dev/video*")
	for _, p := range paths {
		fd, err := syscall.Open(p, syscall.O_RDWR, 0)
		if err != nil {
			continue
		}
		caps, err := capabilities(fd)
		syscall.Close(fd)
		if err != nil {
			continue
		}
		switch {
		case caps&capVideoCapture != 0 && capture == "":
			capture = p
		case caps&capVideoOutput != 0 && output == "":
			output = p
		}
	}
	if capture == "" || output == "" {
		return "", "", fmt.Errorf("vivid's nodes not found among %v (capture %q, output %q)", paths, capture, output)
	}
	return capture, output, nil
}

// frame draws code as a QR code, centred on a white YUYV frame.
func frame(code string, f pixFormat) ([]byte, error) {
	side := int(min(f.width, f.height)) * 3 / 4
	m, err := qrcode.NewQRCodeWriter().Encode(code, gozxing.BarcodeFormat_QR_CODE, side, side,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 2})
	if err != nil {
		return nil, err
	}
	out := make([]byte, f.sizeimage)
	x0, y0 := (int(f.width)-m.GetWidth())/2, (int(f.height)-m.GetHeight())/2
	for y := 0; y < int(f.height); y++ {
		row := out[y*int(f.bytesperline):]
		for x := 0; x < int(f.width); x++ {
			luma := byte(235)
			if qx, qy := x-x0, y-y0; qx >= 0 && qy >= 0 && qx < m.GetWidth() && qy < m.GetHeight() && m.Get(qx, qy) {
				luma = 16
			}
			row[2*x] = luma
			row[2*x+1] = 128 // U or V: no colour
		}
	}
	return out, nil
}

// struct v4l2_buffer as a 32-bit kernel takes it (a 32-bit timeval), and
// struct v4l2_requestbuffers.
const (
	bufSize    = 68
	reqbufSize = 20
	memoryMMAP = 1
)

// startOutput streams img on the output node with memory-mapped buffers:
// every buffer holds the frame, and each one the driver hands back is queued
// again until ctx ends.
func startOutput(fd int, img []byte, f pixFormat) (func(context.Context) error, error) {
	var req [reqbufSize]byte
	binary.LittleEndian.PutUint32(req[0:], 4)
	binary.LittleEndian.PutUint32(req[4:], bufTypeVideoOutput)
	binary.LittleEndian.PutUint32(req[8:], memoryMMAP)
	if err := ioctl(fd, ioc(8, reqbufSize), unsafe.Pointer(&req[0])); err != nil {
		return nil, fmt.Errorf("VIDIOC_REQBUFS: %w", err)
	}
	n := binary.LittleEndian.Uint32(req[0:])
	qbuf := func(i uint32) error {
		var b [bufSize]byte
		binary.LittleEndian.PutUint32(b[0:], i)
		binary.LittleEndian.PutUint32(b[4:], bufTypeVideoOutput)
		binary.LittleEndian.PutUint32(b[8:], uint32(len(img)))
		binary.LittleEndian.PutUint32(b[16:], fieldInterlaced)
		binary.LittleEndian.PutUint32(b[48:], memoryMMAP)
		if err := ioctl(fd, ioc(15, bufSize), unsafe.Pointer(&b[0])); err != nil {
			return fmt.Errorf("VIDIOC_QBUF: %w", err)
		}
		return nil
	}
	for i := uint32(0); i < n; i++ {
		var b [bufSize]byte
		binary.LittleEndian.PutUint32(b[0:], i)
		binary.LittleEndian.PutUint32(b[4:], bufTypeVideoOutput)
		binary.LittleEndian.PutUint32(b[48:], memoryMMAP)
		if err := ioctl(fd, ioc(9, bufSize), unsafe.Pointer(&b[0])); err != nil {
			return nil, fmt.Errorf("VIDIOC_QUERYBUF: %w", err)
		}
		off, length := binary.LittleEndian.Uint32(b[52:]), binary.LittleEndian.Uint32(b[56:])
		mem, err := syscall.Mmap(fd, int64(off), int(length), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap: %w", err)
		}
		copy(mem, img)
		if err := qbuf(i); err != nil {
			return nil, err
		}
	}
	typ := uint32(bufTypeVideoOutput)
	if err := ioctl(fd, 1<<30|4<<16|'V'<<8|18, unsafe.Pointer(&typ)); err != nil { // _IOW
		return nil, fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	return func(ctx context.Context) error {
		for ctx.Err() == nil {
			var b [bufSize]byte
			binary.LittleEndian.PutUint32(b[4:], bufTypeVideoOutput)
			binary.LittleEndian.PutUint32(b[48:], memoryMMAP)
			if err := ioctl(fd, ioc(17, bufSize), unsafe.Pointer(&b[0])); err != nil {
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				return fmt.Errorf("VIDIOC_DQBUF: %w", err)
			}
			if err := qbuf(binary.LittleEndian.Uint32(b[0:])); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func run(code string) error {
	capture, output, err := nodes()
	if err != nil {
		return err
	}
	cfd, err := syscall.Open(capture, syscall.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(cfd)
	if err := setControl(cfd, "Loop Video", 1); err != nil {
		return err
	}
	ofd, err := syscall.Open(output, syscall.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(ofd)
	of, err := setFmt(ofd, bufTypeVideoOutput)
	if err != nil {
		return fmt.Errorf("output %s: %w", output, err)
	}
	cf, err := setFmt(cfd, bufTypeVideoCapture)
	if err != nil {
		return fmt.Errorf("capture %s: %w", capture, err)
	}
	fmt.Printf("camtest: output %s %dx%d field %d, capture %s %dx%d field %d\n", output, of.width, of.height, of.field,
		capture, cf.width, cf.height, cf.field)
	img, err := frame(code, of)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// the output streams for as long as the capture looks
	out, err := startOutput(ofd, img, of)
	if err != nil {
		return fmt.Errorf("output %s: %w", output, err)
	}
	go func() {
		if err := out(ctx); err != nil && ctx.Err() == nil {
			fmt.Println("camtest: output:", err)
		}
	}()
	// The decoding budget per frame is a board setting: 60 ms fits a 15 fps
	// camera on the device; the guest runs some ten times slower under
	// emulation, and a budget that ends before the first attempt does
	// never decodes.
	cam, err := camera.Open(camera.Config{Device: capture, Width: int(of.width), Height: int(of.height), Format: camera.FormatYUYV,
		Budget: time.Second})
	if err != nil {
		return err
	}
	defer cam.Close()
	start := time.Now()
	text, err := cam.Scan(ctx)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if text != code {
		return fmt.Errorf("decoded %q, wrote %q", text, code)
	}
	c, err := qr.Classify(text)
	if err != nil {
		return fmt.Errorf("the decoded code is no payment code: %w", err)
	}
	fmt.Printf("camtest: ok: decoded a %v payment code from %s in %v\n", c.Kind, capture, time.Since(start).Round(time.Millisecond))
	return nil
}
