package escpos_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"kpos/drivers/escpos"
	"kpos/hal"
	"kpos/tools/printeremu"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		width int
		want  []string
	}{
		{"empty", "", 10, []string{""}},
		{"fits", "TOTAL 12.34", 11, []string{"TOTAL 12.34"}},
		{"word break", "MERCHANT NAME LONG", 10, []string{"MERCHANT", "NAME LONG"}},
		{"long word split", "ABCDEFGHIJKL", 5, []string{"ABCDE", "FGHIJ", "KL"}},
		{"chinese counts double", "商户名称测试", 8, []string{"商户名称", "测试"}},
		{"mixed", "金额 CNY 12.34", 8, []string{"金额 CNY", "12.34"}},
		{"mixed no space", "卡号6222", 6, []string{"卡号62", "22"}},
		{"newline", "A\nB", 5, []string{"A", "B"}},
		{"trailing spaces dropped", "AB   ", 5, []string{"AB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := escpos.Wrap(tt.in, tt.width)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("Wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
			}
			for _, row := range got {
				if w := escpos.TextWidth(row); w > tt.width {
					t.Errorf("row %q is %d columns wide, more than %d", row, w, tt.width)
				}
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    hal.PrinterStatus
		wantErr bool
	}{
		{"ready", []byte{0x12, 0x12, 0x12, 0x12}, hal.PrinterStatus{}, false},
		{"near end", []byte{0x12, 0x12, 0x12, 0x1E}, hal.PrinterStatus{PaperNearEnd: true}, false},
		{"paper out by sensor", []byte{0x1A, 0x32, 0x12, 0x72}, hal.PrinterStatus{PaperOut: true}, false},
		{"paper out by stop only", []byte{0x1A, 0x32, 0x12, 0x12}, hal.PrinterStatus{PaperOut: true}, false},
		{"cover open", []byte{0x1A, 0x16, 0x12, 0x12}, hal.PrinterStatus{CoverOpen: true}, false},
		{"cutter", []byte{0x1A, 0x52, 0x1A, 0x12}, hal.PrinterStatus{Error: true, Detail: "autocutter error"}, false},
		{"offline without cause", []byte{0x1A, 0x12, 0x12, 0x12}, hal.PrinterStatus{Error: true, Detail: "off line"}, false},
		{"short", []byte{0x12, 0x12, 0x12}, hal.PrinterStatus{}, true},
		{"noise", []byte{0x12, 0xFF, 0x12, 0x12}, hal.PrinterStatus{}, true},
		{"bit 0 set", []byte{0x13, 0x12, 0x12, 0x12}, hal.PrinterStatus{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := escpos.ParseStatus(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, escpos.ErrBadStatus) {
					t.Errorf("error %v does not wrap ErrBadStatus", err)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte{0x12, 0x12, 0x12, 0x12})
	f.Add([]byte{0x1A, 0x32, 0x12, 0x72})
	f.Add([]byte{0x1A, 0x56, 0x7A, 0x7E})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := escpos.ParseStatus(in)
		if err != nil {
			if !errors.Is(err, escpos.ErrBadStatus) {
				t.Fatalf("error %v does not wrap ErrBadStatus", err)
			}
			return
		}
		if len(in) != escpos.StatusReplies {
			t.Fatalf("accepted %d bytes", len(in))
		}
		if in[3]&0x60 != 0 && !st.PaperOut {
			t.Fatalf("paper end sensor set but not reported: %x", in)
		}
		if in[1]&0x04 != 0 && !st.CoverOpen {
			t.Fatalf("cover open bit set but not reported: %x", in)
		}
		if st.Error != (st.Detail != "") {
			t.Fatalf("Error %v with detail %q", st.Error, st.Detail)
		}
		if st.Ready() && (in[1]&0x64 != 0 || in[2]&0x68 != 0 || in[3]&0x60 != 0) {
			t.Fatalf("ready despite a fault bit: %x", in)
		}
	})
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status string
		blocks []string
	}{
		{"status bytes", "\x12\x16", "\x12\x16", nil},
		{"process ID between statuses", "\x12\x37\x220042\x00\x1a", "\x12\x1a", []string{"\x37\x220042\x00"}},
		{"clear answer", "\x37\x25\x00", "", []string{"\x37\x25\x00"}},
		{"stray 0x37", "\x37\x12\x12", "\x12\x12", nil},
		{"overlong block dropped", "\x37\x22" + strings.Repeat("1", 40) + "\x12", "111111111\x12", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sp escpos.Splitter
			var status []byte
			var blocks []string
			for i := 0; i < len(tt.in); i++ {
				st, b := sp.Feed(tt.in[i])
				if b != nil {
					blocks = append(blocks, string(b))
				} else if st >= 0 {
					status = append(status, byte(st))
				}
			}
			if string(status) != tt.status || strings.Join(blocks, "|") != strings.Join(tt.blocks, "|") {
				t.Errorf("status %q blocks %q, want %q %q", status, blocks, tt.status, tt.blocks)
			}
		})
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("\x12\x37\x220042\x00\x1a\x37\x37"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var sp escpos.Splitter
		for _, c := range in {
			st, b := sp.Feed(c)
			if b != nil && (st != -1 || b[0] != 0x37 || b[len(b)-1] != 0 || len(b) > 33) {
				t.Fatalf("bad block %x (status %d)", b, st)
			}
			if st > 255 || (st == 0x37 && b == nil) {
				t.Fatalf("status %d", st)
			}
		}
	})
}

func TestEncodeLine(t *testing.T) {
	enc := escpos.NewEncoder(escpos.Config{Width58or80: 58, ChineseGB18030: true})
	tests := []struct {
		name string
		line hal.Line
		want []byte
	}{
		{"plain", hal.Line{Text: "AB"}, []byte("\x1ba\x00\x1bE\x00\x1d!\x00AB\n")},
		{"center bold double", hal.Line{Text: "X", Align: hal.AlignCenter, Bold: true, Double: true},
			[]byte("\x1ba\x01\x1bE\x01\x1d!\x11X\n\x1bE\x00\x1d!\x00")},
		{"chinese in kanji mode", hal.Line{Text: "A中"}, []byte("\x1ba\x00\x1bE\x00\x1d!\x00A\x1c&\xd6\xd0\x1c.\n")},
		{"feed and cut", hal.Line{Text: "", Feed: 2, Cut: true}, []byte("\x1ba\x00\x1bE\x00\x1d!\x00\n\x1bd\x02\x1dVB\x00")},
		{"qr", hal.Line{QR: "hi"}, []byte("\x1ba\x00\x1bE\x00\x1d!\x00" +
			"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x06\x1d(k\x03\x001E1" +
			"\x1d(k\x05\x001P0hi\x1d(k\x03\x001Q0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := enc.Line(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if _, err := enc.Line(hal.Line{QR: strings.Repeat("x", 3000)}); err == nil {
		t.Error("oversized QR payload accepted")
	}
}

func TestEncodeWithoutChineseFont(t *testing.T) {
	enc := escpos.NewEncoder(escpos.Config{CodePage: -1})
	got, err := enc.Line(hal.Line{Text: "A中\x1b"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(got, []byte("A?? \n")) {
		t.Errorf("got %q, want Chinese as ?? and the control byte as a space", got)
	}
	if bytes.Contains(enc.Init(), []byte{0x1b, 't'}) {
		t.Error("CodePage -1 still selects a code page")
	}
}

// receipt is a customer copy with Chinese text and a QR code.
func receipt() hal.Document {
	return hal.Document{Name: "receipt-customer", Lines: []hal.Line{
		{Text: "签购单 持卡人存根", Align: hal.AlignCenter, Bold: true, Double: true},
		{Text: "商户名称: 北京测试商户有限公司朝阳门分店", Feed: 0},
		{Text: "MERCHANT NO 898110000000001"},
		{Text: "卡号 CARD NO: 622202******1234"},
		{Text: "金额 AMOUNT: CNY 12.34", Bold: true},
		{QR: "https://qr.95516.com/00010000/62220212341234", Align: hal.AlignCenter},
		{Text: "谢谢惠顾 THANK YOU", Align: hal.AlignCenter, Feed: 3, Cut: true},
	}}
}

func newEmulator(t *testing.T, columns int) *printeremu.Emulator {
	t.Helper()
	emu, err := printeremu.New(printeremu.Options{Columns: columns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

func openPrinter(t *testing.T, emu *printeremu.Emulator, width int) *escpos.Printer {
	t.Helper()
	p, err := escpos.Open(escpos.Config{Device: emu.Path(), Baud: 115200, Width58or80: width, ChineseGB18030: true,
		StatusTimeout: 2 * time.Second, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestReceiptOnEmulator(t *testing.T) {
	for _, width := range []int{58, 80} {
		t.Run(map[int]string{58: "58mm", 80: "80mm"}[width], func(t *testing.T) {
			columns := map[int]int{58: 32, 80: 48}[width]
			emu := newEmulator(t, columns)
			p := openPrinter(t, emu, width)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Print(ctx, receipt()); err != nil {
				t.Fatal(err)
			}
			pages, err := emu.WaitPages(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			page := pages[0]
			if !page.Cut || page.Interrupted {
				t.Errorf("page cut=%v interrupted=%v, want a clean cut", page.Cut, page.Interrupted)
			}
			text := page.Text(columns)
			t.Logf("rendered page:\n%s", text)
			flat := strings.ReplaceAll(text, "\n", "")
			flat = strings.ReplaceAll(flat, " ", "")
			for _, want := range []string{"签购单持卡人存根", "商户名称:北京测试商户有限公司朝阳门分店", "金额AMOUNT:CNY12.34", "谢谢惠顾THANKYOU"} {
				if !strings.Contains(flat, want) {
					t.Errorf("rendered page lacks %q", want)
				}
			}
			var qr []string
			for _, l := range page.Lines {
				if l.QR != "" || l.QRErr != "" {
					qr = append(qr, l.QR)
					if l.QRErr != "" {
						t.Errorf("QR not decoded: %s", l.QRErr)
					}
				}
				if w := escpos.TextWidth(l.Text); (l.Double && 2*w > columns) || w > columns {
					t.Errorf("row %q overflows %d columns", l.Text, columns)
				}
				if strings.HasPrefix(l.Text, "签购单") && !(l.Double && l.Bold && l.Align == printeremu.Center) {
					t.Errorf("title style = %+v", l)
				}
			}
			if want := receipt().Lines[5].QR; len(qr) != 1 || qr[0] != want {
				t.Errorf("QR payloads %q, want [%q]", qr, want)
			}
		})
	}
}

func TestNotReadyBeforePrinting(t *testing.T) {
	tests := []struct {
		name string
		set  func(*printeremu.State)
		want error
	}{
		{"paper out", func(s *printeremu.State) { s.PaperOut = true }, hal.ErrPaperOut},
		{"cover open", func(s *printeremu.State) { s.CoverOpen = true }, hal.ErrCoverOpen},
		{"cutter jam", func(s *printeremu.State) { s.CutterError = true }, hal.ErrPrinter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := newEmulator(t, 48)
			p := openPrinter(t, emu, 80)
			emu.Set(tt.set)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := p.Print(ctx, receipt())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Print = %v, want %v", err, tt.want)
			}
			if cur := emu.Current(); len(cur.Lines) != 0 || len(emu.Pages()) != 0 {
				t.Errorf("something printed: %+v", cur)
			}
		})
	}
}

func TestStatusNearEnd(t *testing.T) {
	emu := newEmulator(t, 48)
	p := openPrinter(t, emu, 80)
	emu.SetPaperNearEnd(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.PaperNearEnd || !st.Ready() {
		t.Errorf("status %+v, want near end and still ready", st)
	}
}

func TestPaperOutMidReceiptReprintsWhole(t *testing.T) {
	emu := newEmulator(t, 48)
	p := openPrinter(t, emu, 80)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	emu.RunOutAfter(3) // the roll ends three rows into the receipt
	var notified []hal.PrinterStatus
	err := p.PrintWhole(ctx, receipt(), func(ctx context.Context, st hal.PrinterStatus) error {
		notified = append(notified, st)
		emu.SetPaperOut(false) // the merchant loads a new roll
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(notified) != 1 || !notified[0].PaperOut {
		t.Fatalf("notified %+v, want one paper-out notice", notified)
	}
	pages, err := emu.WaitPages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 {
		t.Fatalf("%d pages, want the torn stub and the whole reprint", len(pages))
	}
	stub, whole := pages[0], pages[1]
	if !stub.Interrupted || stub.Cut || len(stub.Lines) != 3 {
		t.Errorf("stub = %+v, want 3 rows, interrupted, torn off", stub)
	}
	if whole.Interrupted || !whole.Cut {
		t.Errorf("reprint interrupted=%v cut=%v", whole.Interrupted, whole.Cut)
	}
	text := whole.Text(48)
	for _, want := range []string{"签购单 持卡人存根", "谢谢惠顾 THANK YOU", "CNY 12.34"} {
		if !strings.Contains(text, want) {
			t.Errorf("reprint lacks %q:\n%s", want, text)
		}
	}
}

func TestPrintWholeGivesUp(t *testing.T) {
	emu := newEmulator(t, 48)
	p := openPrinter(t, emu, 80)
	emu.SetCoverOpen(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := p.PrintWhole(ctx, receipt(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PrintWhole with the cover left open = %v, want the deadline", err)
	}
	stop := errors.New("merchant cancelled")
	err = p.PrintWhole(context.Background(), receipt(), func(context.Context, hal.PrinterStatus) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("PrintWhole = %v, want the notifier's error", err)
	}
}

// silent is a line on which the printer never answers.
type silent struct{ r *io.PipeReader }

func (s silent) Read(b []byte) (int, error)  { return s.r.Read(b) }
func (s silent) Write(b []byte) (int, error) { return len(b), nil }

func TestNoReply(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	p := escpos.New(silent{r}, escpos.Config{StatusTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := p.Status(context.Background())
	if !errors.Is(err, escpos.ErrNoReply) || !errors.Is(err, hal.ErrPrinter) {
		t.Fatalf("Status = %v, want ErrNoReply and hal.ErrPrinter", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Status(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Status with a cancelled context = %v", err)
	}
}

// statusOnly is a printer that answers real-time status (ready) but never
// finishes printing: its process ID answer never comes.
type statusOnly struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func (s statusOnly) Read(b []byte) (int, error) { return s.r.Read(b) }

func (s statusOnly) Write(b []byte) (int, error) {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0x10 && b[i+1] == 0x04 {
			go s.w.Write([]byte{0x12})
		}
	}
	return len(b), nil
}

func TestPrintNeverFinishes(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	p := escpos.New(statusOnly{r, w}, escpos.Config{PrintTimeout: 100 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	err := p.Print(context.Background(), hal.Document{Name: "t", Lines: []hal.Line{{Text: "x"}}})
	if !errors.Is(err, escpos.ErrNoReply) || !errors.Is(err, hal.ErrPrinter) {
		t.Fatalf("Print = %v, want ErrNoReply and hal.ErrPrinter", err)
	}
}
