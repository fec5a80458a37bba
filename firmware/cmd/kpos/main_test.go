package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"kpos/tools/hostsim"
)

var kposBin string

// TestMain builds the kpos binary once: these tests run the firmware as it
// ships, as a process that can be killed.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kpos-bin")
	if err != nil {
		panic(err)
	}
	kposBin = filepath.Join(dir, "kpos")
	build := exec.Command("go", "build", "-tags", "sim", "-o", kposBin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("build kpos: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// kpos runs the binary with a fresh data directory unless args name one.
func kpos(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return kposEnv(t, timeout, nil, args...)
}

// kposEnv runs the binary with env added to the test's environment.
func kposEnv(t *testing.T, timeout time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kposBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = repoPath(t, ".")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVersion(t *testing.T) {
	out, err := kpos(t, 10*time.Second, "-version")
	if err != nil || !strings.HasPrefix(out, "kpos ") {
		t.Fatalf("%q %v", out, err)
	}
}

// TestScenariosPass runs every scenario of testdata/scenarios on a bound
// simulated terminal, and those of testdata/scenarios/blank on a new one.
func TestScenariosPass(t *testing.T) {
	bound, _ := filepath.Glob(repoPath(t, "testdata/scenarios/*.txt"))
	blank, _ := filepath.Glob(repoPath(t, "testdata/scenarios/blank/*.txt"))
	if len(bound) == 0 {
		t.Fatal("no scenarios found")
	}
	for _, f := range append(bound, blank...) {
		args := []string{"-board", "sim", "-data", t.TempDir(), "-script", f}
		name := filepath.Base(f)
		if filepath.Base(filepath.Dir(f)) == "blank" {
			args = append(args, "-blank")
			name = "blank/" + name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := kpos(t, 2*time.Minute, args...)
			if err != nil || !strings.Contains(out, "PASS") {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

var failsAt = regexp.MustCompile(`\(line (\d+)\)`)

// TestScenariosThatMustFail: a wrong expectation fails the run and the
// message names the step.
func TestScenariosThatMustFail(t *testing.T) {
	files, _ := filepath.Glob(repoPath(t, "testdata/scenarios/failing/*.txt"))
	if len(files) == 0 {
		t.Fatal("no failing scenarios found")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := failsAt.FindStringSubmatch(string(raw))
		if m == nil {
			t.Fatalf("%s does not say which line must fail: (line N)", f)
		}
		out, err := kpos(t, time.Minute, "-board", "sim", "-data", t.TempDir(), "-script", f)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("%s: want exit status 1, got %v\n%s", f, err, out)
		}
		if !strings.Contains(out, ":"+m[1]+": step ") || !strings.Contains(out, "FAIL") {
			t.Fatalf("%s: the failure does not name line %s:\n%s", f, m[1], out)
		}
	}
}

func TestBadScriptIsRefusedClearly(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("keys 1\nfly away\n"), 0o600)
	out, err := kpos(t, 30*time.Second, "-board", "sim", "-data", t.TempDir(), "-script", bad)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, ":2:") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestPowerCutAfterTheHostAnswered kills the terminal with SIGKILL between
// sending the authorization and recording the answer. The host simulator
// runs here, outside the terminal's process, so its records survive; at
// the next start the terminal must reverse the sale before anything else.
func TestPowerCutAfterTheHostAnswered(t *testing.T) {
	srv, ln := outsideHost(t)

	data := t.TempDir()
	sale := filepath.Join(t.TempDir(), "sale.txt")
	os.WriteFile(sale, []byte(`expect screen idle within 20s
keys 4 2 0 0 ENTER ENTER
expect screen present-card
insert unionpay-debit
pin 123456
expect screen approved within 20s
`), 0o600)
	out, err := kpos(t, time.Minute, "-board", "sim", "-data", data, "-host", ln.Addr().String(),
		"-crash-at", "after-host-answer", "-script", sale)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the terminal was not killed at the crash point: %v\n%s", err, out)
	}
	approved := findRecords(srv.Records(), "authorization", "00")
	if len(approved) != 1 || approved[0].Amount != 4200 {
		t.Fatalf("the host should hold one approved sale of 42.00: %+v", srv.Records())
	}
	if n := len(findRecords(srv.Records(), "reversal", "")); n != 0 {
		t.Fatalf("reversed before the restart: %d", n)
	}

	restart := filepath.Join(t.TempDir(), "restart.txt")
	os.WriteFile(restart, []byte("expect screen idle within 20s\nexpect journal last reversed\n"), 0o600)
	out, err = kpos(t, time.Minute, "-board", "sim", "-data", data, "-host", ln.Addr().String(), "-script", restart)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	revs := findRecords(srv.Records(), "reversal", "")
	if len(revs) != 1 || revs[0].Trace != approved[0].Trace {
		t.Fatalf("the host recorded no reversal of trace %d: %+v", approved[0].Trace, srv.Records())
	}
	if bal, _ := srv.Balance("6222021234567890128"); bal != 1000000 {
		t.Fatalf("the account was not made whole: balance %d", bal)
	}
}

// outsideHost runs a host simulator in the test's process, on loopback,
// so that its records outlive the terminal processes the test starts.
func outsideHost(t *testing.T) (*hostsim.Server, net.Listener) {
	t.Helper()
	srv, err := hostsim.New(hostsim.Config{DataDir: repoPath(t, "testdata/host")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Serve(ctx, ln)
	return srv, ln
}

func findRecords(recs []hostsim.Record, typ, code string) []hostsim.Record {
	var out []hostsim.Record
	for _, r := range recs {
		if r.Type == typ && (code == "" || r.Code == code) {
			out = append(out, r)
		}
	}
	return out
}
