package qr

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func renderPayloads(t *testing.T) map[string]string {
	static, err := terminalMPM("").Encode()
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := terminalMPM("23.72").Encode()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"static":            static,
		"dynamic":           dynamic,
		"emvco-appendix-a":  readPayload(t, "emvco-mpm-appendix-a.txt"),
		"kcode-qr":          kcodeQR("999:2345-6789-ABCD-EFGH:20991231"),
		"ascii-only-brcode": readPayload(t, "bcb-brcode-manual.txt"),
	}
}

// TestMatrixDecodesInProcess decodes each rendered code with gozxing's reader.
func TestMatrixDecodesInProcess(t *testing.T) {
	for name, p := range renderPayloads(t) {
		t.Run(name, func(t *testing.T) {
			m, err := Matrix(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) < 21 || len(m) != len(m[0]) || (len(m)-17)%4 != 0 {
				t.Fatalf("matrix %dx%d is not a QR code size", len(m), len(m[0]))
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(Image(m, 4))
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if res.GetText() != p {
				t.Errorf("decoded %q\nwant    %q", res.GetText(), p)
			}
		})
	}
}

// TestMatrixDecodesWithZbar checks the codes with an independent decoder,
// zbarimg from Debian's zbar-tools; it is skipped where zbarimg is absent.
func TestMatrixDecodesWithZbar(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed (Debian package zbar-tools)")
	}
	dir := t.TempDir()
	for name, p := range renderPayloads(t) {
		t.Run(name, func(t *testing.T) {
			m, err := Matrix(p)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, Image(m, 4)); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name+".png")
			if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(zbar, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", file).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimRight(string(out), "\n"); got != p {
				t.Errorf("zbarimg read %q\nwant         %q", got, p)
			}
		})
	}
}

// TestHalfBlocks reads the text rendering back into modules.
func TestHalfBlocks(t *testing.T) {
	m, err := Matrix("KPOS half-block test")
	if err != nil {
		t.Fatal(err)
	}
	for _, lightOnDark := range []bool{false, true} {
		text := HalfBlocks(m, lightOnDark)
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		full := len(m) + 2*QuietZone
		if len(lines) != (full+1)/2 {
			t.Fatalf("%d lines, want %d", len(lines), (full+1)/2)
		}
		for y := 0; y < full; y++ {
			row := []rune(lines[y/2])
			if len(row) != full {
				t.Fatalf("line %d has %d columns, want %d", y/2, len(row), full)
			}
			for x := 0; x < full; x++ {
				var ink bool
				switch row[x] {
				case '█':
					ink = true
				case '▀':
					ink = y%2 == 0
				case '▄':
					ink = y%2 == 1
				}
				dark := ink != lightOnDark
				want := false
				if y >= QuietZone && y < full-QuietZone && x >= QuietZone && x < full-QuietZone {
					want = m[y-QuietZone][x-QuietZone]
				}
				if dark != want {
					t.Fatalf("lightOnDark=%t: module (%d,%d) = %t, want %t", lightOnDark, x, y, dark, want)
				}
			}
		}
	}
}

func TestMatrixEmpty(t *testing.T) {
	if _, err := Matrix(""); err == nil {
		t.Fatal("empty payload encoded")
	}
}

// BenchmarkMatrix measures encoding a dynamic merchant code, what the terminal
// does for every merchant-presented sale, and reports the code's size.
func BenchmarkMatrix(b *testing.B) {
	p, err := terminalMPM("23.72").Encode()
	if err != nil {
		b.Fatal(err)
	}
	var modules int
	for b.Loop() {
		m, err := Matrix(p)
		if err != nil {
			b.Fatal(err)
		}
		modules = len(m)
	}
	b.ReportMetric(float64(modules), "modules/side")
	b.ReportMetric(float64(len(p)), "payload-bytes")
}

// TestEncodeLevels: every level reads back, a higher level never gives a
// smaller symbol, and a level outside L, M, Q, H is refused.
func TestEncodeLevels(t *testing.T) {
	p := "https://qr.95516.com/00010000/01234567890123456789"
	prev := 0
	for _, l := range []Level{LevelL, LevelM, LevelQ, LevelH} {
		m, err := Encode(p, l)
		if err != nil {
			t.Fatalf("%c: %v", l, err)
		}
		if len(m) < prev {
			t.Errorf("%c: %d modules, fewer than the level below (%d)", l, len(m), prev)
		}
		prev = len(m)
		bmp, err := gozxing.NewBinaryBitmapFromImage(Image(m, 4))
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil || res.GetText() != p {
			t.Errorf("%c: decoded %v, %v", l, res, err)
		}
	}
	if _, err := Encode(p, Level('X')); err == nil {
		t.Error("level X accepted")
	}
	if _, err := Encode("", LevelM); err == nil {
		t.Error("empty payload encoded")
	}
}
