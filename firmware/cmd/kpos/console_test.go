package main

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// simConsolePassword is the simulated board's test technician password
// (boards/sim).
const simConsolePassword = "tech-pass-2026"

// TestConsoleOnTheSimBoard starts the terminal with its console socket and
// holds a short technician session: status, keys, journal, perf.
func TestConsoleOnTheSimBoard(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "console.sock")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kposBin, "-board", "sim", "-data", filepath.Join(dir, "data"), "-console", sock)
	cmd.Dir = repoPath(t, ".")
	stdin, err := cmd.StdinPipe() // held open: the sim board reads commands from it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()

	var conn net.Conn
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("console socket: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	readUntil := func(want string) string {
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(b.String(), want) {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				t.Fatalf("waiting for %q: %v\n%s", want, err, b.String())
			}
		}
		return b.String()
	}
	readUntil("Password:")
	conn.Write([]byte(simConsolePassword + "\r"))
	readUntil("kpos-sim>")

	// A sale at the counter, typed on the simulated board's keyboard.
	for _, line := range []string{"1234", "", "", "insert unionpay-debit", "pin 123456", "remove"} {
		stdin.Write([]byte(line + "\n"))
		time.Sleep(150 * time.Millisecond)
	}
	var transcript strings.Builder
	run := func(c, until string) {
		conn.Write([]byte(c + "\r"))
		transcript.WriteString(readUntil(until))
	}
	for i := 0; i < 50 && !strings.Contains(transcript.String(), "completed"); i++ {
		time.Sleep(100 * time.Millisecond)
		run("journal list", "kpos-sim>")
	}
	for _, c := range []string{"status", "keys", "perf"} {
		run(c, "kpos-sim>")
	}
	run("priv", "Password:")
	run(simConsolePassword, "kpos-sim#")
	run("settle", "kpos-sim#")
	out := transcript.String()
	for _, want := range []string{"serial    KPOS-SIM-0001", "binding   bound", "TMK", "D2B91C", "host:acquirer",
		"622202*********0128", "12.34", "completed", "balanced"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	// The test TMK and its working keys must never be shown, only check
	// values; nor the card number.
	if strings.Contains(strings.ToUpper(out), "1111111111111111") || regexp.MustCompile(`[0-9A-F]{32}`).MatchString(strings.ToUpper(out)) {
		t.Fatalf("key material on the console:\n%s", out)
	}
	if strings.Contains(out, "6222021234567890128") {
		t.Fatalf("a full PAN on the console:\n%s", out)
	}
}
