package tty_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"kpos/drivers/tty"
	"kpos/hal"
)

func TestKeyDecoder(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		flush bool
		want  []hal.Key
	}{
		{"digits and enter", "1234\r", false, []hal.Key{'1', '2', '3', '4', hal.KeyEnter}},
		{"crlf is one enter", "5\r\n6\n", false, []hal.Key{'5', hal.KeyEnter, '6', hal.KeyEnter}},
		{"two enters", "\r\r", false, []hal.Key{hal.KeyEnter, hal.KeyEnter}},
		{"clear keys", "\x08\x7fc", false, []hal.Key{hal.KeyClear, hal.KeyClear, hal.KeyClear}},
		{"cancel letter", "x", false, []hal.Key{hal.KeyCancel}},
		{"lone esc after flush", "\x1b", true, []hal.Key{hal.KeyCancel}},
		{"lone esc pending", "\x1b", false, nil},
		{"esc then digit", "\x1b7", false, []hal.Key{hal.KeyCancel, '7'}},
		{"arrows", "\x1b[A\x1b[B\x1bOA", false, []hal.Key{hal.KeyUp, hal.KeyDown, hal.KeyUp}},
		{"f1 both forms", "\x1bOP\x1b[11~", false, []hal.Key{hal.KeyF1, hal.KeyF1}},
		{"letters", "mMuUdDfF.", false, []hal.Key{hal.KeyMenu, hal.KeyMenu, hal.KeyUp, hal.KeyUp, hal.KeyDown, hal.KeyDown, hal.KeyF1, hal.KeyF1, hal.KeyDot}},
		{"unknown sequence dropped", "\x1b[5~1", false, []hal.Key{'1'}},
		{"overlong sequence dropped", "\x1b[1111111111A2", false, []hal.Key{'2'}},
		{"unknown bytes ignored", "zq\x00!", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d tty.KeyDecoder
			var got []hal.Key
			for i := 0; i < len(tt.in); i++ {
				got = append(got, d.Feed(tt.in[i])...)
			}
			if tt.flush {
				got = append(got, d.Flush()...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("keys %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("keys %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func FuzzKeyDecoder(f *testing.F) {
	f.Add([]byte("1234\r\n\x1b[A\x1bOP\x1b"))
	f.Add([]byte("\x1b[11~\x1b\x1b[[[["))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d tty.KeyDecoder
		keys := []hal.Key{}
		for _, b := range in {
			keys = append(keys, d.Feed(b)...)
		}
		keys = append(keys, d.Flush()...)
		if d.Pending() {
			t.Fatal("pending after Flush")
		}
		for _, k := range keys {
			switch {
			case k.IsDigit(), k == hal.KeyEnter, k == hal.KeyCancel, k == hal.KeyClear, k == hal.KeyMenu,
				k == hal.KeyUp, k == hal.KeyDown, k == hal.KeyF1, k == hal.KeyDot:
			default:
				t.Fatalf("unknown key %v from %q", k, in)
			}
		}
		if len(keys) > len(in) {
			t.Fatalf("%d keys from %d bytes", len(keys), len(in))
		}
	})
}

func TestRender(t *testing.T) {
	s := hal.Screen{ID: "amount", Title: "请输入金额 Amount", Lines: []string{"CNY 12.34", "商户名称很长很长很长很长很长很长很长"}}
	rows, err := tty.Render(s, 20, true, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[amount] 请输入金额 ", "Amount", strings.Repeat("-", 20), "CNY 12.34", "商户名称很长很长很长", "很长很长很长很长"}
	// The title wraps inside "[amount] 请输入金额 Amount": 9 + 10 + 1 columns fit, "Amount" goes on.
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
}

func TestQRRoundTrip(t *testing.T) {
	for _, invert := range []bool{false, true} {
		for _, payload := range []string{
			"00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING63047D43",
			"KCODE:8981100001:BOC:20271231",
		} {
			rows, err := tty.QRRows(payload, invert)
			if err != nil {
				t.Fatal(err)
			}
			all := append([]string{"title", "-----"}, rows...)
			got, err := tty.DecodeQR(all, invert)
			if err != nil {
				t.Fatalf("invert=%v: %v\n%s", invert, err, strings.Join(rows, "\n"))
			}
			if got != payload {
				t.Errorf("decoded %q, want %q", got, payload)
			}
		}
	}
}

// openPTY returns the master side of a pty and a Terminal opened on its slave.
func openPTY(t *testing.T, cfg tty.Config) (*os.File, *tty.Terminal) {
	t.Helper()
	ptmx, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	cfg.Device = slave.Name()
	term, err := tty.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		term.Close()
		slave.Close()
		ptmx.Close()
	})
	return ptmx, term
}

// output collects what the terminal writes to the master side.
type output struct {
	chunks chan []byte
	got    []byte
}

func newOutput(r *os.File) *output {
	o := &output{chunks: make(chan []byte, 64)}
	go func() {
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				o.chunks <- buf[:n]
			}
			if err != nil {
				close(o.chunks)
				return
			}
		}
	}()
	return o
}

// until waits until the output contains want, and returns it all.
func (o *output) until(t *testing.T, want string) string {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for !bytes.Contains(o.got, []byte(want)) {
		select {
		case c, ok := <-o.chunks:
			if !ok {
				t.Fatalf("line closed; have %q", o.got)
			}
			o.got = append(o.got, c...)
		case <-timeout.C:
			t.Fatalf("no %q in %q", want, o.got)
		}
	}
	return string(o.got)
}

func TestTerminalOverPTY(t *testing.T) {
	ptmx, term := openPTY(t, tty.Config{Columns: 40, ShowID: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	payload := "https://qr.95516.com/00010000/0123456789"
	screens := tty.NewScreenReader(ptmx, false)
	shown := []hal.Screen{
		{ID: "merchant-qr", Title: "扫码付款 Scan to pay", Lines: []string{"CNY 12.34"}, QR: payload},
		{ID: "amount", Title: "请输入金额 Enter the amount please", Lines: []string{"", "CNY 0.00"}},
	}
	for _, want := range shown {
		if err := term.Show(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := screens.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.Title != want.Title || got.QR != want.QR || strings.Join(got.Lines, "|") != strings.Join(want.Lines, "|") {
			t.Errorf("read back %+v, want %+v", got, want)
		}
	}

	if _, err := ptmx.Write([]byte("12\x1b[A\r\x1b")); err != nil {
		t.Fatal(err)
	}
	want := []hal.Key{'1', '2', hal.KeyUp, hal.KeyEnter, hal.KeyCancel}
	if k, err := term.Key(ctx); err != nil || k != want[0] {
		t.Fatalf("first key = %v, %v", k, err)
	}
	want = want[1:]
	for i, w := range want {
		k, err := term.Key(ctx)
		if err != nil || k != w {
			t.Fatalf("key %d = %v, %v; want %v", i, k, err, w)
		}
	}
	short, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := term.Key(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Key with nothing typed = %v", err)
	}

	// Flush forgets what was typed ahead, and nothing typed after it.
	term.Flush()
	if _, err := ptmx.Write([]byte("9")); err != nil {
		t.Fatal(err)
	}
	if k, err := term.Key(ctx); err != nil || k != '9' {
		t.Fatalf("key after Flush = %v, %v; want 9", k, err)
	}
}

func FuzzParseScreen(f *testing.F) {
	f.Add("[id] title\r\n--------\r\nline\r\n")
	f.Add("t\r\n--------\r\n \r\n█▀▄ \r\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := tty.ParseScreen(text, false)
		if err == nil && strings.Contains(s.Title, "\r\n") {
			t.Fatalf("title %q spans rows", s.Title)
		}
	})
}

func TestPlainGB18030(t *testing.T) {
	ptmx, term := openPTY(t, tty.Config{Columns: 16, Plain: true, GB18030: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := term.Show(ctx, hal.Screen{ID: "approved", Title: "交易成功", Lines: []string{"OK"}}); err != nil {
		t.Fatal(err)
	}
	out := newOutput(ptmx).until(t, "OK\r\n")
	want := "\f\xbd\xbb\xd2\xd7\xb3\xc9\xb9\xa6\r\n" + strings.Repeat("-", 16) + "\r\nOK\r\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
