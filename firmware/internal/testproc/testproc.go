// Package testproc runs one test alone in a process of its own, for tests
// that change something of the whole process (a resource limit such as
// RLIMIT_FSIZE, which makes every write fail as a full disk does). Run in
// the test binary's own process, such a change would reach the tests
// running beside it and the test log that `go test` writes meanwhile.
//
// It is for tests only, and knows nothing of what the tests check.
package testproc

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// childEnv names the test a child process runs.
const childEnv = "KPOS_TESTPROC_CHILD"

// ExecEnv names the program that runs the test binary when it is not
// native (the -exec of go test), for the child to be run the same way.
const ExecEnv = "KPOS_TEST_EXEC"

// Alone reports whether the calling test is in its own process. When it is
// not, Alone runs it again alone in a child process of the test binary,
// fails t with the child's output if the child fails, and returns false:
// the caller returns at once.
//
//	if !testproc.Alone(t) {
//		return
//	}
func Alone(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	args := []string{os.Args[0], "-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	// A test binary of another architecture runs under an emulator (make
	// test-arm: go test -exec qemu-arm-static), which its child needs too.
	if emu := os.Getenv(ExecEnv); emu != "" {
		args = append([]string{emu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its own process: %v\n%s", t.Name(), err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s in its own process did not pass:\n%s", t.Name(), out)
	}
	return false
}
