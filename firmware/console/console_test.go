package console

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"encoding/json"
	"kpos/firmware/console/command"
	"kpos/firmware/console/service"
	"kpos/firmware/update"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoginAndLockoutWithBackoff(t *testing.T) {
	r := newRig(t)
	c := New(r.cfg, r.cmds()...)
	s := r.startWith(t, c)
	s.expect("technician console")
	for i := 1; i <= 2; i++ {
		s.expect("Password: ")
		s.send("wrong-guess-1")
		s.expect("Wrong password.")
	}
	s.expect("Password: ")
	s.send("wrong-guess-1")
	s.expect("Wrong password. 3 failures: console locked for 30s.")
	// While locked even the right password is not checked, and the notice
	// is not repeated: no prompt until the lock runs out.
	s.send(testPassword)
	s.send("")
	waitFor(t, "two refused attempts", func() bool {
		c.attempts.mu.Lock()
		defer c.attempts.mu.Unlock()
		return c.attempts.nRefused == 2
	})
	r.clock.Advance(31 * time.Second)
	s.expect("Password: ")
	if n := strings.Count(s.transcript(), "locked"); n != 1 {
		t.Errorf("the lockout notice was printed %d times:\n%s", n, s.transcript())
	}
	s.send("wrong-guess-2")
	s.expect("4 failures: console locked for 1m0s.") // doubled
	if st, _ := os.ReadFile(r.cfg.PasswordPath + ".lockout"); !strings.Contains(string(st), `"failures":4`) {
		t.Errorf("lockout state after the 4th failure: %s", st)
	}

	// A reboot (a new console over the same files) keeps the lock.
	s2 := r.start(t)
	s2.expect("Console locked after repeated failures: try again in 1m0s.")
	r.clock.Advance(61 * time.Second)
	s2.expect("Password: ")
	s2.send(testPassword)
	s2.expect("Logged in (read-only)")
	s2.expect("kpos> ")
	// Success resets the counter.
	b, err := os.ReadFile(r.cfg.PasswordPath + ".lockout")
	if err != nil {
		t.Fatal(err)
	}
	var st lockState
	if err := json.Unmarshal(b, &st); err != nil || st.Failures != 0 {
		t.Fatalf("lockout state after success: %s (%v)", b, err)
	}
	// The first console's burst is summarised when its session ends.
	s.cancel()
	err = <-s.done
	s.done <- err
	audit := r.audit.String()
	for _, want := range []string{`"command":"login","result":"failed (1 consecutive)"`,
		`"result":"5 more failed attempts (3 wrong passwords, 2 refused while locked)`, `"command":"login","result":"ok"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %s:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "wrong-guess") || strings.Contains(audit, testPassword) {
		t.Error("audit log contains a typed password")
	}
	if strings.Contains(s.transcript(), "wrong-guess") {
		t.Error("password echoed")
	}
}

func TestLockoutDelays(t *testing.T) {
	p := LockoutPolicy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: 5 * time.Minute}
	tests := []struct {
		n    int
		want time.Duration
	}{{1, 0}, {2, 0}, {3, 30 * time.Second}, {4, time.Minute}, {5, 2 * time.Minute}, {6, 4 * time.Minute}, {7, 5 * time.Minute}, {40, 5 * time.Minute}}
	for _, tt := range tests {
		if got := p.delay(tt.n); got != tt.want {
			t.Errorf("delay(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

func TestPrivilegeSeparationAndAudit(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	out := s.run("param set host.port 6000")
	if !strings.Contains(out, "'param set' needs privileges: type 'priv' first") {
		t.Fatalf("unprivileged set: %q", out)
	}
	if v, _ := r.params.Get(t.Context(), "host.port"); v.Value != "5000" {
		t.Fatal("value changed without privileges")
	}
	s.send("priv")
	s.expect("Password: ")
	s.send("not-the-password")
	s.expect("error: wrong password")
	s.priv()
	if out := s.run("param set host.port 6000"); !strings.Contains(out, "host.port = 6000") {
		t.Fatalf("set: %q", out)
	}
	if out := s.run("param set apn.password new-apn-pw"); !strings.Contains(out, "apn.password = ****") {
		t.Fatalf("sensitive set: %q", out)
	}
	// Privileges lapse.
	r.clock.Advance(11 * time.Minute)
	if out := s.run("settle"); !strings.Contains(out, "needs privileges") {
		t.Fatalf("after lapse: %q", out)
	}
	s.priv()
	s.run("unpriv")
	if out := s.run("reboot"); !strings.Contains(out, "needs privileges") || r.reboots != 0 {
		t.Fatalf("reboot after unpriv: %q", out)
	}
	audit := r.audit.String()
	if !strings.Contains(audit, `"command":"param set","args":["set","host.port","6000"],"result":"ok"`) {
		t.Errorf("audit lacks the set:\n%s", audit)
	}
	if !strings.Contains(audit, `"args":["set","apn.password","****"]`) || strings.Contains(audit, "new-apn-pw") {
		t.Errorf("sensitive value not masked in audit:\n%s", audit)
	}
	if !strings.Contains(audit, `"command":"priv","result":"lapsed"`) {
		t.Errorf("audit lacks the lapse:\n%s", audit)
	}
}

func TestNoAuditLogRefusesPrivileged(t *testing.T) {
	r := newRig(t)
	cfg := r.cfg
	cfg.Audit = nil
	s := r.startWith(t, New(cfg, r.cmds()...))
	s.login()
	s.send("priv")
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("privileges refused: console: no audit log configured")
}

func TestIdleLogout(t *testing.T) {
	r := newRig(t)
	r.cfg.IdleTimeout = 200 * time.Millisecond
	s := r.start(t)
	s.login()
	s.expect("no input for 200ms: logged out")
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Logged in")
	if !strings.Contains(r.audit.String(), `"command":"logout","result":"idle timeout"`) {
		t.Error("idle logout not audited")
	}
}

func TestLogoutExitAndCtrlD(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.send("logout")
	s.expect("Logged out.")
	s.login()
	s.sendRaw("\x04") // ^D on an empty line
	s.expect("Logged out.")
	s.login()
	s.send("exit")
	s.expect("Bye.")
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("exit did not end the session")
	}
}

func TestNoPasswordSet(t *testing.T) {
	r := newRig(t)
	os.Remove(r.cfg.PasswordPath)
	s := r.start(t)
	s.expect("No technician password is set")
	if made, err := EnsurePassword(r.cfg.PasswordPath, testPassword, 1000); err != nil || !made {
		t.Fatalf("EnsurePassword: %v %v", made, err)
	}
	if made, err := EnsurePassword(r.cfg.PasswordPath, "other-pass-99", 1000); err != nil || made {
		t.Fatalf("EnsurePassword replaced a password: %v %v", made, err)
	}
	s.send("")
	s.login()
}

func TestPasswd(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.priv()
	steps := []struct{ old, new1, new2, want string }{
		{testPassword, "short1", "short1", "password too weak"},
		{testPassword, "new-pass-2027", "new-pass-2028", "the new passwords differ"},
		{"wrong-old-pw-1", "new-pass-2027", "new-pass-2027", "wrong password"},
		{testPassword, "new-pass-2027", "new-pass-2027", "password changed"},
	}
	for _, st := range steps {
		s.send("passwd")
		s.expect("Current password: ")
		s.send(st.old)
		s.expect("New password: ")
		s.send(st.new1)
		s.expect("Repeat new password: ")
		s.send(st.new2)
		s.expect(st.want)
		s.expect("kpos# ")
	}
	s.send("logout")
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Wrong password.")
	s.expect("Password: ")
	s.send("new-pass-2027")
	s.expect("Logged in")
	b, _ := os.ReadFile(r.cfg.PasswordPath)
	if strings.Contains(string(b), "new-pass") || !strings.HasPrefix(string(b), "pbkdf2-sha256$1000$") {
		t.Fatalf("password store: %q", b)
	}
}

func TestCommands(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.priv()
	tests := []struct {
		line string
		want []string
		not  []string
	}{
		{"help", []string{"COMMAND", "status", "journal", "(*) needs 'priv'"}, nil},
		{"help journal", []string{"usage: journal list [N] | show TRACE"}, nil},
		{"help jurnal", []string{"no command 'jurnal' — did you mean 'journal'?"}, nil},
		{"stauts", []string{"unknown command 'stauts' — did you mean 'status'?"}, nil},
		{"status", []string{"1.0.0 (board sim)", "bound", "000001: 4 transactions, 4 unsettled", "card  sales 2 / 163.50", "cellular up, registered, signal 23/31, China Mobile", "slot A 1.0.0", "printer: paper near end"}, nil},
		{"status extra", []string{"error: status takes no arguments"}, nil},
		{"keys", []string{"TMK", "3DES-2K", "82E136 ", "PIN", "D2B91C", "DATA", "not loaded"}, []string{"82E13665", fakeTMK}},
		{"binding", []string{"bound", "12345678 / 898320154110001", "622202*********0128"}, nil},
		{"journal list", []string{"TRACE", "000004", "declined", "622202*********0128", "128.00", "contactless"}, nil},
		{"journal list 1", []string{"000004"}, []string{"000003"}},
		{"journal list x", []string{"'x' is not a count", "usage: journal"}, nil},
		{"journal show 2", []string{"000002 (batch 000001)", "625099*********9871", "35.50 CNY", "approved (response 00)", "UnionPay Debit A000000333010101"}, nil},
		{"journal show 77", []string{"no transaction with trace 000077"}, nil},
		{"journal show abc", []string{"'abc' is not a trace number"}, nil},
		{"journal lst", []string{"unknown sub-command 'lst' — did you mean 'list'?"}, nil},
		{"reprint 1", []string{"receipt of trace 000001 reprinted"}, nil},
		{"reprint last", []string{"receipt of trace 000004 reprinted"}, nil},
		{"test printer", []string{"printer ok: test page printed; ready"}, nil},
		{"test scanner", []string{"scanner ok: unionpay code", "622202*********0128"}, nil},
		{"test modem", []string{"SIM7600CE", "ready, ICCID 8986***********1234", "23/31", "registered (home), China Mobile"}, nil},
		{"test keypad", []string{"keypad ok: 1 2 3 CLEAR ENTER"}, nil},
		{"test display", []string{"display ok"}, nil},
		{"test leds", []string{"leds ok"}, nil},
		{"test prnter", []string{"unknown device 'prnter' — did you mean 'printer'?"}, nil},
		{"test", []string{"test needs one device", "usage: test reader|printer"}, nil},
		{`modem at "AT+CSQ"`, []string{"+CSQ: 23,99", "OK"}, nil},
		{"modem at AT+CCID", []string{"+CCID: 898600*********0120"}, nil},
		{"modem at ATZ+CPIN=1234", []string{"ERROR"}, nil},
		{"modem at reboot", []string{"'reboot' is not an AT command"}, nil},
		{"param list", []string{"NAME", "host.port", "apn.password", "****", "测试商户 KPOS Test Shop", "(read-only)"}, []string{"s3cr3t-apn"}},
		{"param get host.timeout", []string{"30s"}, nil},
		{"param get host.prot", []string{"no parameter 'host.prot' — did you mean 'host.port'?"}, nil},
		{"param set host.port 70000", []string{"host.port not changed", "1..65535"}, nil},
		{"param set limit.txn 1.00", []string{"limit.txn is read-only"}, nil},
		{`param set settle.time "23:45"`, []string{"settle.time = 23:45"}, nil},
		{"param set host.port", []string{"param set needs NAME and VALUE"}, nil},
		{"log tail", []string{"sign-on ok", "WARN", "pan=625099*********9871", "key=[redacted]"}, []string{"0123456789ABCDEF"}},
		{"log tail 1", []string{"DEBUG"}, []string{"sign-on"}},
		{"log level", []string{"log level info"}, nil},
		{"log level debug", []string{"log level set to debug"}, nil},
		{"log level loud", []string{"'loud' is not a level"}, nil},
		{"perf", []string{"TARGET", "host:acquirer", "640 ms", "1800 ms", "device:printer"}, nil},
		{"update", []string{"SLOT", "A     1.0.0", "active"}, nil},
		{"settle", []string{"Settling with the host...", "batch 000001 settled, balanced with the host: 4 transactions, 183.50", "new batch 000002"}, nil},
		{"reboot", []string{"Rebooting..."}, nil},
		{"status --force", []string{"unknown flag '--force'"}, nil},
		{"status -v", []string{"unknown flag '-v'"}, nil},
		{`status "unterminated`, []string{"error: syntax error: unterminated \" quote"}, nil},
		{"priv", []string{"already privileged"}, nil},
	}
	for _, tt := range tests {
		out := s.run(tt.line)
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.line, w, out)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(out, n) {
				t.Errorf("%s: output contains %q:\n%s", tt.line, n, out)
			}
		}
		for _, l := range strings.Split(out, "\n") {
			if command.TextWidth(l) > command.Width {
				t.Errorf("%s: line wider than %d columns: %q", tt.line, command.Width, l)
			}
		}
	}
	if r.reboots != 1 {
		t.Errorf("reboots %d", r.reboots)
	}
	if r.devices.pages != 1 || len(r.journal.reprinted) != 2 {
		t.Errorf("pages %d, reprints %v", r.devices.pages, r.journal.reprinted)
	}
	if got := r.devices.atLog; len(got) != 3 || got[2] != "ATZ+CPIN=1234" {
		t.Errorf("AT log %v", got)
	}
	audit := r.audit.String()
	if strings.Contains(audit, "1234\"") || !strings.Contains(audit, `"args":["at","ATZ+CPIN=****"]`) {
		t.Errorf("SIM PIN not masked in audit:\n%s", audit)
	}
	for _, c := range []string{`"command":"settle"`, `"command":"reboot"`, `"command":"log level"`, `"command":"modem at"`} {
		if !strings.Contains(audit, c) {
			t.Errorf("audit lacks %s", c)
		}
	}
}

func TestJSONOutput(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.priv()
	tests := []struct {
		line  string
		check func(v any) bool
	}{
		{"status -json", func(v any) bool {
			m := v.(map[string]any)
			return m["board"] == "sim" && m["uptime_s"] == float64(8040)
		}},
		{"keys -json", func(v any) bool { return len(v.([]any)) == 4 && v.([]any)[0].(map[string]any)["kcv"] == "82E136" }},
		{"journal list -json", func(v any) bool { return v.([]any)[0].(map[string]any)["masked_pan"] == "622202*********0128" }},
		{"journal show 3 -json", func(v any) bool { return v.(map[string]any)["method"] == "cash" }},
		{"binding --json", func(v any) bool { return v.(map[string]any)["tid"] == "12345678" }},
		{"param list -json", func(v any) bool { return len(v.([]any)) == 8 }},
		{"param get apn.password -json", func(v any) bool { return v.(map[string]any)["value"] == "****" }},
		{"perf -json", func(v any) bool { return v.([]any)[0].(map[string]any)["count"] == float64(42) }},
		{"log tail 2 -json", func(v any) bool { return len(v.([]any)) == 2 }},
		{"test printer -json", func(v any) bool { return v.(map[string]any)["test_page"] == "printed" }},
		{"test modem -json", func(v any) bool { return v.(map[string]any)["signal"] == float64(23) }},
		{"help -json", func(v any) bool { return len(v.([]any)) > 15 }},
		{"update -json", func(v any) bool { return v.(map[string]any)["active"] == "A" }},
		{"journal show 99 -json", func(v any) bool { return strings.Contains(v.(map[string]any)["error"].(string), "000099") }},
		{"nosuch -json", func(v any) bool { return strings.Contains(v.(map[string]any)["error"].(string), "unknown command") }},
		{"backup - -json", func(v any) bool { return strings.Contains(v.(map[string]any)["armor"].(string), service.BeginArmor) }},
	}
	for _, tt := range tests {
		out := s.run(tt.line)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s: not JSON (%v):\n%s", tt.line, err, out)
			continue
		}
		if !tt.check(v) {
			t.Errorf("%s: unexpected JSON:\n%s", tt.line, out)
		}
	}
}

func TestTabCompletionAndHistory(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.sendRaw("sta\t")
	s.expect("status ")
	s.sendRaw("\r")
	s.expect("China Mobile")
	s.expect("kpos> ")
	s.sendRaw("journal sh\t")
	s.expect("journal show ")
	s.sendRaw("1\r")
	s.expect("000001 (batch 000001)")
	s.expect("kpos> ")
	s.sendRaw("p\t")
	s.expect("param  passwd  perf  priv")
	s.sendRaw("e\t\r") // pe -> perf
	s.expect("host:acquirer")
	s.expect("kpos> ")
	s.sendRaw("\x1b[A\x1b[A\r") // up twice: journal show 1
	s.expect("000001 (batch 000001)")
	s.expect("kpos> ")
}

func TestCtrlCCancelsAWaitingTest(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.send("test reader")
	s.expect("Insert, tap or swipe a card")
	s.sendRaw("\x03")
	s.expect("error: cancelled")
	s.expect("kpos> ")
	// And with a card:
	r.devices.cardReady <- service.CardDetect{Event: "inserted", Interface: "contact", ATRLen: 13}
	if out := s.run("test reader"); !strings.Contains(out, "reader ok: card inserted (contact), ATR 13 bytes") {
		t.Fatalf("%q", out)
	}
	// ^C at the prompt clears the line being typed.
	s.sendRaw("settle\x03")
	s.expect("kpos> ")
	if out := s.run("status"); !strings.Contains(out, "4 unsettled") {
		t.Fatalf("status after ^C: %q", out)
	}
}

func TestPrinterOutOfPaper(t *testing.T) {
	r := newRig(t)
	r.devices.paperOut = true
	s := r.start(t)
	s.login()
	if out := s.run("test printer"); !strings.Contains(out, "test page not printed: out of paper: load a paper roll") {
		t.Fatalf("%q", out)
	}
}

func TestServicesNotAvailable(t *testing.T) {
	r := newRig(t)
	s := r.startWith(t, New(r.cfg, service.Commands(service.Services{}, r.opt)...))
	s.login()
	s.priv()
	for _, line := range []string{"status", "test reader", "modem at AT", "param list", "keys", "binding", "journal list", "reprint last", "settle", "log tail", "perf", "backup -", "restore x", "update", "reboot"} {
		if out := s.run(line); !strings.Contains(out, "not available on this board") {
			t.Errorf("%s: %q", line, out)
		}
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.priv()
	if out := s.run("backup day1.bak"); !strings.Contains(out, "backup written to") {
		t.Fatalf("backup: %q", out)
	}
	// Change things, then restore: the parameters come back.
	s.run("param set host.port 7000")
	if out := s.run("restore day1.bak"); !strings.Contains(out, "restored") {
		t.Fatalf("restore: %q", out)
	}
	if v, _ := r.params.Get(t.Context(), "host.port"); v.Value != "5000" {
		t.Fatalf("host.port after restore: %s", v.Value)
	}
	// Over the console: print, paste back.
	s.send("backup -")
	armored := s.expect(service.EndArmor)
	armored = armored[strings.Index(armored, service.BeginArmor):]
	s.expect("kpos# ")
	s.run("param set host.port 7001")
	s.send("restore -")
	s.expect("Paste the backup")
	for _, l := range strings.Split(armored, "\n") {
		s.send(l)
	}
	s.expect("restored")
	s.expect("kpos# ")
	if v, _ := r.params.Get(t.Context(), "host.port"); v.Value != "5000" {
		t.Fatalf("host.port after console restore: %s", v.Value)
	}
	// A damaged file is refused and nothing changes.
	path := filepath.Join(r.opt.FileRoot, "day1.bak")
	b, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte{}, b[:len(b)-5]...), append([]byte{b[len(b)-5] ^ 1}, b[len(b)-4:]...)...),
		"truncated": b[:len(b)-10],
		"appended":  append(append([]byte{}, b...), "x"...),
	} {
		os.WriteFile(filepath.Join(r.opt.FileRoot, name), bad, 0o600)
		s.run("param set host.port 7002")
		if out := s.run("restore " + name); !strings.Contains(out, "restore refused: console: backup integrity check failed") || !strings.Contains(out, "nothing was changed") {
			t.Errorf("%s: %q", name, out)
		}
		if v, _ := r.params.Get(t.Context(), "host.port"); v.Value != "7002" {
			t.Errorf("%s: restore changed host.port to %s", name, v.Value)
		}
	}
	// A backup that would lose an unsettled transaction is refused.
	r.journal.addSale(4200)
	if out := s.run("restore day1.bak"); !strings.Contains(out, "restore would lose unsettled transactions") {
		t.Errorf("unsettled: %q", out)
	}
	if out := s.run("restore nonexistent.bak"); !strings.Contains(out, "restore failed") {
		t.Errorf("missing file: %q", out)
	}
	s.send("restore -")
	s.expect("Paste the backup")
	s.send("")
	s.expect("restore aborted; nothing was changed")
	s.expect("kpos# ")
	// ^C in the middle of a paste abandons it; the half-pasted line is not
	// echoed afterwards and history still works.
	s.send("restore -")
	s.expect("Paste the backup")
	s.sendRaw(service.BeginArmor + "\rWlpaWnBhc3RlZFpaWlo")
	s.sendRaw("\x03")
	s.expect("error: cancelled")
	s.expect("kpos# ")
	s.sendRaw("\x1b[A\r") // history: restore -
	s.expect("Paste the backup")
	s.send("")
	s.expect("restore aborted")
	if strings.Contains(s.transcript(), "WlpaWnBhc3RlZFpaWlo") {
		t.Errorf("a pasted line was echoed:\n%s", s.transcript())
	}
}

func TestUpdateFromConsole(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	var phases []string
	r.opt.OnUpdateProgress = func(p update.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	s := r.start(t)
	s.login()
	s.priv()
	payload := []byte(strings.Repeat("kpos firmware 1.1.0 ", 20000))
	img := signImage(t, r, "1.1.0", payload)
	os.WriteFile(filepath.Join(r.opt.FileRoot, "kpos-1.1.0.img"), img, 0o644)
	tampered := append([]byte{}, img...)
	tampered[len(tampered)/2] ^= 0x40
	os.WriteFile(filepath.Join(r.opt.FileRoot, "tampered.img"), tampered, 0o644)
	os.WriteFile(filepath.Join(r.opt.FileRoot, "old.img"), signImage(t, r, "0.9.0", []byte("old")), 0o644)

	if out := s.run("update tampered.img"); !strings.Contains(out, "update refused, nothing changed: update: bad image signature") {
		t.Fatalf("tampered: %q", out)
	}
	if out := s.run("update old.img"); !strings.Contains(out, "update refused: update: image is not newer") {
		t.Fatalf("downgrade: %q", out)
	}
	mu.Lock()
	phases = nil
	mu.Unlock()
	out := s.run("update kpos-1.1.0.img")
	for _, w := range []string{"writing:  16%", "writing: 100% (400000 of 400000 bytes)", "firmware 1.1.0 written to slot B; type 'reboot' to run it on trial"} {
		if !strings.Contains(out, w) {
			t.Errorf("update output lacks %q:\n%s", w, out)
		}
	}
	mu.Lock()
	if got := strings.Join(phases, ","); got != "write,switch,done" {
		t.Errorf("display progress phases %s", got)
	}
	mu.Unlock()
	if out := s.run("update"); !strings.Contains(out, "active, trial boot 0") || !strings.Contains(out, "1.1.0") {
		t.Errorf("slots: %q", out)
	}
	// The new image boots, fails its health check, and the next boot
	// rolls back; the console shows it.
	if bi, err := r.updater.Boot(); err != nil || bi.Slot != "B" || !bi.Trial {
		t.Fatalf("trial boot %+v %v", bi, err)
	}
	if err := r.updater.MarkFailed("host link never came up"); err != nil {
		t.Fatal(err)
	}
	if bi, err := r.updater.Boot(); err != nil || !bi.RolledBack || bi.Slot != "A" {
		t.Fatalf("rollback boot %+v %v", bi, err)
	}
	out = s.run("update")
	if !strings.Contains(out, "last: rolled back from slot B (health check failed: host link never came up) to\n  slot A") {
		t.Errorf("slots after rollback: %q", out)
	}
	// A forced downgrade is possible, privileged and audited.
	if out := s.run("update old.img --force"); !strings.Contains(out, "firmware 0.9.0 written to slot B") {
		t.Errorf("forced downgrade: %q", out)
	}
	audit := r.audit.String()
	if !strings.Contains(audit, `"args":["old.img","--force"],"result":"ok"`) {
		t.Errorf("forced update not audited:\n%s", audit)
	}
	if !strings.Contains(audit, `"command":"update","args":["kpos-1.1.0.img"],"result":"ok"`) ||
		!strings.Contains(audit, `"args":["tampered.img"],"result":"error: update refused`) {
		t.Errorf("audit:\n%s", audit)
	}
}

func TestUnixSocket(t *testing.T) {
	r := newRig(t)
	c := New(r.cfg, r.cmds()...)
	sock := filepath.Join(r.dir, "console.sock")
	ln, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.ServeListener(ctx, ln) }()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := &ptySession{t: t, out: newSyncBuffer()}
	go io.Copy(s.out, conn)
	w := func(str string) {
		if _, err := conn.Write([]byte(str)); err != nil {
			t.Fatal(err)
		}
	}
	s.expect("Password: ")
	w(testPassword + "\r")
	s.expect("kpos> ")
	w("binding\r")
	s.expect("12345678 / 898320154110001")
	w("exit\r")
	s.expect("Bye.")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ServeListener returned %v after cancel", err)
	}
	checkNoSecrets(t, "socket transcript", s.transcript())
}

// waitFor polls cond (at most 10 s): for state that shows in no output.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
