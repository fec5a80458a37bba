package console

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Attach is the second-process client: here its "keyboard" is a pipe.
func TestAttach(t *testing.T) {
	r := newRig(t)
	sock := filepath.Join(r.dir, "c.sock")
	ln, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go New(r.cfg, r.cmds()...).ServeListener(ctx, ln)
	kbd, typist, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer kbd.Close()
	// Type ahead: the console reads it when it asks.
	if _, err := typist.WriteString(testPassword + "\rkeys\rexit\r"); err != nil {
		t.Fatal(err)
	}
	screen := newSyncBuffer()
	if err := Attach(ctx, sock, kbd, screen); err != nil {
		t.Fatal(err)
	}
	typist.Close()
	out := clean(screen.String())
	for _, want := range []string{"Logged in", "D2B91C", "Bye."} {
		if !strings.Contains(out, want) {
			t.Errorf("attached session lacks %q:\n%s", want, out)
		}
	}
	checkNoSecrets(t, "attached transcript", out)
}

func BenchmarkPasswordCheck(b *testing.B) {
	h, err := HashPassword(testPassword, DefaultKDFIterations)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ok, err := checkPassword(h, testPassword)
		if err != nil || !ok {
			b.Fatal("check failed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/login")
}
