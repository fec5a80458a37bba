package printeremu

import (
	"bytes"
	"strings"
	"testing"
)

func TestInterpreter(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Line
	}{
		{"plain", "AB\n", []Line{{Text: "AB"}}},
		{"styles", "\x1ba\x01\x1bE\x01\x1d!\x11T\n\x1bE\x00\x1d!\x00\x1ba\x00x\n",
			[]Line{{Text: "T", Align: Center, Bold: true, Double: true}, {Text: "x"}}},
		{"chinese", "\x1c&\xd6\xd0\xce\xc4\x1c.A\n", []Line{{Text: "中文A"}}},
		{"gb18030 four bytes", "\x1c&\x81\x30\x81\x30\x1c.\n", []Line{{Text: "\u0080"}}},
		{"bad lead byte keeps the LF", "\x1c&\x81\n", []Line{{Text: "?"}}},
		{"high byte outside kanji mode", "\xd6\n", []Line{{Text: "?"}}},
		{"auto wrap", "ABCDEFGHIJ\n", []Line{{Text: "ABCDEFGH"}, {Text: "IJ"}}},
		{"bit image skipped", "\x1b*\x00\x03\x00\x0a\x0a\x0aZ\n", []Line{{Text: "Z"}}},
		{"raster skipped", "\x1dv0\x00\x01\x00\x02\x00\x0a\x0aZ\n", []Line{{Text: "Z"}}},
		{"barcode skipped", "\x1dkA\x03123Z\n\x1dk\x04AB\x00Y\n", []Line{{Text: "Z"}, {Text: "Y"}}},
		{"unknown ESC skipped", "\x1bq\x0aZ\n", []Line{{Text: "Z"}}},
		{"feed", "A\x1bd\x02", []Line{{Text: "A"}, {}, {}}},
		{"qr", "\x1d(k\x03\x001C\x04\x1d(k\x05\x001P0hi\x1d(k\x03\x001Q0", []Line{{QR: "hi"}}},
		{"qr print without data", "\x1d(k\x03\x001Q0", []Line{{QRErr: "no data stored"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInterpreter(8)
			// Feed byte by byte: commands may arrive split anywhere.
			for i := 0; i < len(tt.in); i++ {
				in.Feed([]byte{tt.in[i]})
			}
			got := in.Current().Lines
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestStatusAndPaper(t *testing.T) {
	in := NewInterpreter(48)
	if got := in.Feed([]byte("\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04\x10\x04\x09")); string(got) != "\x12\x12\x12\x12" {
		t.Errorf("ready status = %x", got)
	}
	if got := in.Feed([]byte("\x1d(H\x06\x00\x30\x30" + "0042")); string(got) != "\x37\x22"+"0042"+"\x00" {
		t.Errorf("process ID answer %q", got)
	}
	in.RunOutAfter(1)
	in.Feed([]byte("one\ntwo\n\x1dVB\x00"))
	if got := in.Feed([]byte("\x10\x04\x02\x10\x04\x04")); string(got) != "\x32\x72" {
		t.Errorf("paper-out status = %x", got)
	}
	if len(in.Pages()) != 0 {
		t.Error("cut without paper")
	}
	if got := in.Feed([]byte("\x1d(H\x06\x00\x30\x30" + "0043")); len(got) != 0 {
		t.Errorf("off-line printer answered process ID: %q", got)
	}
	in.SetState(State{})
	if got := in.Feed([]byte("half a row\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08")); string(got) != "\x37\x25\x00" {
		t.Errorf("clear buffers answered %x", got)
	}
	if cur := in.Current(); len(cur.Lines) != 0 {
		t.Errorf("cleared row printed: %+v", cur)
	}
	pages := in.Pages()
	if len(pages) != 1 || !pages[0].Interrupted || len(pages[0].Lines) != 1 || pages[0].Lines[0].Text != "one" {
		t.Errorf("torn page = %+v", pages)
	}
}

func FuzzInterpreter(f *testing.F) {
	f.Add([]byte("\x1b@\x1c&\xd6\xd0\x1c.AB\n\x1d(k\x05\x001P0hi\x1d(k\x03\x001Q0\x1dVB\x00"))
	f.Add([]byte("\x10\x04\x01\x1b*\x21\x02\x00abcdef"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := NewInterpreter(16)
		reply := in.Feed(data)
		// Drop header-block answers (clear buffers, process ID).
		for i := bytes.IndexByte(reply, 0x37); i >= 0; i = bytes.IndexByte(reply, 0x37) {
			end := bytes.IndexByte(reply[i:], 0)
			if end < 0 {
				t.Fatalf("unterminated block answer %x", reply)
			}
			reply = append(reply[:i:i], reply[i+end+1:]...)
		}
		for _, b := range reply {
			if b&0x93 != 0x12 {
				t.Fatalf("status reply %#x lacks the fixed bits", b)
			}
		}
		for _, p := range append(in.Pages(), in.Current()) {
			for _, l := range p.Lines {
				w := width(l.Text)
				if l.Double {
					w *= 2
				}
				if w > 16 && !strings.ContainsRune(l.Text, '\uFFFD') {
					t.Fatalf("row %q overflows 16 columns", l.Text)
				}
			}
		}
	})
}
