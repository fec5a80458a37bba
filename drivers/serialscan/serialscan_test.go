package serialscan_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"kpos/drivers/serialscan"
	"kpos/hal"
	"kpos/tools/scanneremu"
)

func TestLineParser(t *testing.T) {
	type res struct {
		text string
		err  error
	}
	tests := []struct {
		name   string
		chunks []string
		want   []res
	}{
		{"crlf", []string{"6222021234\r\n"}, []res{{text: "6222021234"}}},
		{"cr only", []string{"abc\rdef\r"}, []res{{text: "abc"}, {text: "def"}}},
		{"lf only", []string{"abc\n"}, []res{{text: "abc"}}},
		{"split across reads", []string{"qr.", "95516.com/x", "\r", "\n"}, []res{{text: "qr.95516.com/x"}}},
		{"chinese utf-8", []string{"K码:测试\r\n"}, []res{{text: "K码:测试"}}},
		{"blank lines skipped", []string{"\r\n\r\n"}, nil},
		{"unterminated waits", []string{"abc"}, nil},
		{"no read", []string{"NR\r\n"}, []res{{err: serialscan.ErrNoRead}}},
		{"control byte", []string{"ab\x00c\r\n"}, []res{{err: serialscan.ErrGarbage}}},
		{"not utf-8", []string{"\xff\xfe\r\n"}, []res{{err: serialscan.ErrGarbage}}},
		{"overlong then good", []string{strings.Repeat("x", 17), "\r\nok\r\n"}, []res{{err: serialscan.ErrTooLong}, {text: "ok"}}},
		{"exactly max", []string{strings.Repeat("y", 16) + "\n"}, []res{{text: strings.Repeat("y", 16)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serialscan.NewLineParser(16, "NR")
			var got []serialscan.Result
			for _, c := range tt.chunks {
				got = append(got, p.Feed([]byte(c))...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				if got[i].Text != w.text {
					t.Errorf("result %d text %q, want %q", i, got[i].Text, w.text)
				}
				if w.err != nil && (!errors.Is(got[i].Err, w.err) || !errors.Is(got[i].Err, hal.ErrScanUnreadable)) {
					t.Errorf("result %d err %v, want %v and hal.ErrScanUnreadable", i, got[i].Err, w.err)
				}
				if w.err == nil && got[i].Err != nil {
					t.Errorf("result %d err %v", i, got[i].Err)
				}
			}
		})
	}
}

func FuzzLineParser(f *testing.F) {
	f.Add([]byte("6222021234\r\n"), 16)
	f.Add([]byte("NR\r\nab\x00\r\n\xff\n"), 4)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		max = max%64 + 1
		if max <= 0 {
			max += 64
		}
		p := serialscan.NewLineParser(max, "NR")
		for _, r := range p.Feed(data) {
			if r.Err != nil {
				if r.Text != "" || !errors.Is(r.Err, hal.ErrScanUnreadable) {
					t.Fatalf("bad rejection %+v", r)
				}
				continue
			}
			if r.Text == "" || len(r.Text) > max || !utf8.ValidString(r.Text) || strings.ContainsAny(r.Text, "\r\n\x00") {
				t.Fatalf("accepted %q (max %d)", r.Text, max)
			}
		}
		if p.Pending() > max {
			t.Fatalf("buffers %d bytes, max %d", p.Pending(), max)
		}
	})
}

func newPair(t testing.TB, trigger bool) (*scanneremu.Emulator, *serialscan.Scanner) {
	t.Helper()
	emu, err := scanneremu.New(scanneremu.Options{Trigger: trigger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	s, err := serialscan.Open(serialscan.Config{Device: emu.Path(), Baud: 115200, Trigger: trigger, NoRead: "NR", MaxLen: 512})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return emu, s
}

func TestContinuousMode(t *testing.T) {
	emu, s := newPair(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	steps := []struct {
		name    string
		send    func() error
		want    string
		wantErr error
	}{
		{"payment code", func() error { return emu.Show("134567890123456789") }, "134567890123456789", nil},
		{"url", func() error { return emu.Show("https://qr.alipay.com/bax01234") }, "https://qr.alipay.com/bax01234", nil},
		{"garbage", func() error { return emu.SendRaw([]byte("\x02\x03junk\r\n")) }, "", serialscan.ErrGarbage},
		{"overlong", func() error { return emu.SendRaw([]byte(strings.Repeat("9", 600) + "\r\n")) }, "", serialscan.ErrTooLong},
		{"no read", func() error { return emu.SendRaw([]byte("NR\r\n")) }, "", serialscan.ErrNoRead},
		{"recovers", func() error { return emu.Show("K1234-5678") }, "K1234-5678", nil},
	}
	for _, st := range steps {
		if err := st.send(); err != nil {
			t.Fatal(err)
		}
		got, err := s.Scan(ctx)
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) || !errors.Is(err, hal.ErrScanUnreadable) {
				t.Errorf("%s: Scan = %q, %v; want %v", st.name, got, err, st.wantErr)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Errorf("%s: Scan = %q, %v; want %q", st.name, got, err, st.want)
		}
	}
	if on, off := emu.Triggers(); on != 0 || off != 0 {
		t.Errorf("continuous mode sent %d triggers and %d stops", on, off)
	}
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Scan(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scan with nothing shown = %v, want the deadline", err)
	}
}

func TestTriggerMode(t *testing.T) {
	emu, s := newPair(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A code already in front of the scanner is read when Scan triggers.
	if err := emu.Show("6222020000000001"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Scan(ctx); err != nil || got != "6222020000000001" {
		t.Fatalf("Scan = %q, %v", got, err)
	}

	// A code shown while Scan is waiting is read then.
	type out struct {
		text string
		err  error
	}
	done := make(chan out, 1)
	changed := emu.Changed()
	go func() {
		text, err := s.Scan(ctx)
		done <- out{text, err}
	}()
	for !emu.Triggered() {
		select {
		case <-changed:
			changed = emu.Changed()
		case <-ctx.Done():
			t.Fatal("the scanner was never triggered")
		}
	}
	if err := emu.Show("https://qr.95516.com/abc"); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.text != "https://qr.95516.com/abc" {
		t.Fatalf("Scan = %+v", r)
	}

	// Nothing shown: the deadline ends the read and the module is stopped.
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Scan(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan = %v, want the deadline", err)
	}
	for {
		on, off := emu.Triggers()
		if on == 3 && off == 3 && !emu.Triggered() {
			break
		}
		select {
		case <-changed:
			changed = emu.Changed()
		case <-ctx.Done():
			t.Fatalf("triggers on=%d off=%d, want 3 and 3", on, off)
		}
	}
}
