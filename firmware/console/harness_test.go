package console

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"kpos/firmware/update"
	"kpos/hal"
)

const testPassword = "tech-pass-2026" // TEST ONLY

// syncBuffer collects output and wakes waiters on every write.
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wake: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.wake)
	b.wake = make(chan struct{})
	return len(p), nil
}

func (b *syncBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.wake
}

func (b *syncBuffer) String() string { s, _ := b.snapshot(); return s }

// rig is a console with fakes behind every service.
type rig struct {
	dir     string
	clock   *fakeClock
	journal *fakeJournal
	params  *fakeParams
	devices *fakeDevices
	logs    *fakeLogs
	audit   *syncBuffer
	updater *update.Updater
	signer  ed25519.PrivateKey
	reboots int
	cfg     Config
	svc     Services
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{dir: dir, clock: &fakeClock{now: t0}, journal: newFakeJournal(), params: newFakeParams(),
		devices: &fakeDevices{cardReady: make(chan CardDetect, 1)}, logs: &fakeLogs{level: "info"}, audit: newSyncBuffer()}
	if err := SetPassword(filepath.Join(dir, "console.pw"), testPassword, 1000); err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile("../../testdata/update/fwsign-test.pub")
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := os.ReadFile("../../testdata/update/fwsign-test.key")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := update.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if r.signer, err = update.ParsePrivateKey(privPEM); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "slots"), 0o755)
	r.updater, err = update.New(update.Config{SlotDir: filepath.Join(dir, "slots"), PublicKey: pub, CurrentVersion: "1.0.0", Board: "sim", Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	r.cfg = Config{
		PasswordPath: filepath.Join(dir, "console.pw"), KDFIterations: 1000,
		Lockout:     LockoutPolicy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: 10 * time.Minute},
		IdleTimeout: time.Minute, PrivTimeout: 10 * time.Minute, CommandTimeout: 10 * time.Second,
		Now: r.clock.Now, Audit: r.audit, FileRoot: filepath.Join(dir, "files"),
	}
	r.svc = Services{
		Status: fakeStatus{r.journal}, Devices: r.devices, Params: r.params, Keys: fakeKeys{}, Binding: fakeBinding{},
		Journal: r.journal, Logs: r.logs, Perf: fakePerf{}, Backup: fakeBackup{r.journal, r.params}, Update: r.updater,
		Reboot: func(context.Context) error { r.reboots++; return nil },
	}
	return r
}

// session is a console session driven over a real pty: the console serves
// the raw slave side the way it would serve a serial port, the test types
// into the master side.
type ptySession struct {
	t      *testing.T
	ptmx   *os.File
	out    *syncBuffer
	mark   int
	done   chan error
	cancel context.CancelFunc
}

func (r *rig) start(t *testing.T) *ptySession {
	return r.startWith(t, New(r.cfg, r.svc))
}

func (r *rig) startWith(t *testing.T, c *Console) *ptySession {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &ptySession{t: t, ptmx: ptmx, out: newSyncBuffer(), done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- c.Serve(ctx, tty) }()
	go io.Copy(s.out, ptmx)
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("console did not stop after cancel")
		}
		tty.Close()
		ptmx.Close()
		checkNoSecrets(t, "transcript", s.transcript())
		checkNoSecrets(t, "audit log", r.audit.String())
	})
	return s
}

// type sends one line as a technician types it.
func (s *ptySession) send(line string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(line + "\r")); err != nil {
		s.t.Fatal(err)
	}
}

func (s *ptySession) sendRaw(b string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(b)); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits (at most 10 s) until the cleaned output after the last match
// contains want, and returns the text up to and including it.
func (s *ptySession) expect(want string) string {
	s.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		raw, wake := s.out.snapshot()
		text := clean(raw)
		if i := strings.Index(text[s.mark:], want); i >= 0 {
			got := text[s.mark : s.mark+i+len(want)]
			s.mark += i + len(want)
			return got
		}
		select {
		case <-wake:
		case <-deadline.C:
			s.t.Fatalf("timed out waiting for %q; output since last match:\n%s", want, text[s.mark:])
		}
	}
}

// login types the password and waits for the read-only prompt.
func (s *ptySession) login() {
	s.t.Helper()
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Logged in")
	s.expect("kpos> ")
}

func (s *ptySession) priv() {
	s.t.Helper()
	s.send("priv")
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("kpos# ")
}

// run types a command and returns its output up to the next prompt.
func (s *ptySession) run(line string) string {
	s.t.Helper()
	s.send(line)
	s.expect(line + "\n")
	out := s.expect("\nkpos")
	s.expect(" ")
	return strings.TrimSuffix(out, "kpos")
}

func (s *ptySession) transcript() string { return clean(s.out.String()) }

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]`)

// clean removes terminal control sequences and carriage returns.
func clean(s string) string {
	s = ansi.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r", "")
}

var (
	digitRun = regexp.MustCompile(`[0-9]{13,}`)
	hexRun   = regexp.MustCompile(`[0-9A-Fa-f]{32,}`)
)

// findSecrets returns every PAN-like digit run (13 to 19 digits, Luhn
// valid) and every key-like hex run (32 or more hex digits) in text.
func findSecrets(text string) []string {
	var found []string
	for _, m := range digitRun.FindAllString(text, -1) {
		if len(m) <= 19 && hal.LuhnValid(m) {
			found = append(found, "PAN-like "+m)
		}
	}
	for _, m := range hexRun.FindAllString(text, -1) {
		found = append(found, "key-like "+m)
	}
	return found
}

func checkNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, f := range findSecrets(text) {
		t.Errorf("%s contains a secret: %s", what, f)
	}
}

// signImage signs a firmware image with the TEST ONLY key.
func signImage(t *testing.T, r *rig, version string, payload []byte) []byte {
	t.Helper()
	img, err := update.Sign(r.signer, version, "sim", payload)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
