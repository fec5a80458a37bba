package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// labMarks are what only the development build may carry: the simulators'
// packages, the fake devices, the simulated board's test TMK and its test
// console password.
var labMarks = []struct {
	name string
	data []byte
}{
	{"host simulator", []byte("kpos/tools/hostsim")},
	{"card simulator", []byte("kpos/tools/cardsim")},
	{"simulated board", []byte("kpos/boards/sim")},
	{"fake devices", []byte("kpos/hal/fake")},
	{"scenario runner", []byte("kpos/tools/scenario")},
	{"test TMK", append(bytes.Repeat([]byte{0x11}, 8), bytes.Repeat([]byte{0x22}, 8)...)},
	{"test console password", []byte("tech-pass-2026")},
	{"test firmware-signing key", []byte("fwsign-test")},
}

// maxProductionSize is the budget of the ARMv7 production binary (stripped,
// as make arm links it): 9.9 MiB.
const maxProductionSize = 99 << 20 / 10

// TestProductionBinaryCarriesNoLab builds the firmware as `make arm` does,
// without the sim tag, and looks through its symbols (go tool nm) and its
// bytes (the strings a dump would show) for anything of the laboratory.
// KPOS_PRODUCTION_BINARY names an already built binary to check instead
// (make arm checks the ARMv7 one this way).
func TestProductionBinaryCarriesNoLab(t *testing.T) {
	bin := os.Getenv("KPOS_PRODUCTION_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "kpos")
		build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	// The package graph first: what the production build imports at all,
	// whether or not the linker kept anything of it.
	deps, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, deps)
	}
	for _, pkg := range strings.Fields(string(deps)) {
		if labPackage(pkg) {
			t.Errorf("the production build imports %s", pkg)
		}
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	// The ARMv7 firmware make arm builds has a size budget: what it links
	// needlessly (a lab package, every SoC's GPIO driver) shows here first.
	if os.Getenv("KPOS_PRODUCTION_BINARY") != "" {
		mib := float64(len(raw)) / (1 << 20)
		t.Logf("%s: %.2f MiB", filepath.Base(bin), mib)
		if len(raw) >= maxProductionSize {
			t.Errorf("the production binary is %.2f MiB, the budget %.2f MiB", mib, float64(maxProductionSize)/(1<<20))
		}
	}
	// A stripped binary (make arm links with -s -w) has no symbol table
	// for nm; its function table, which names every linked package, is
	// still in its bytes and is searched there.
	nm, err := exec.Command("go", "tool", "nm", bin).CombinedOutput()
	if err != nil {
		if !bytes.Contains(nm, []byte("no symbols")) {
			t.Fatalf("go tool nm: %v\n%s", err, nm)
		}
		t.Logf("%s is stripped: its packages are looked for in its function table", bin)
		nm = nil
	}
	for _, m := range labMarks {
		if bytes.Contains(raw, m.data) {
			t.Errorf("the production binary carries the %s (%s)", m.name, printable(m.data))
		}
		if bytes.Contains(nm, m.data) {
			t.Errorf("the production binary's symbols name the %s", m.name)
		}
	}
	// The checker must find what it looks for: the development build has
	// every mark.
	if os.Getenv("KPOS_PRODUCTION_BINARY") == "" {
		dev, err := os.ReadFile(kposBin)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range labMarks {
			if !bytes.Contains(dev, m.data) {
				t.Errorf("the development build lacks the %s: the check cannot see it", m.name)
			}
		}
	}
	if out, err := exec.Command(bin, "-version").Output(); err == nil && !strings.Contains(string(out), "production build") {
		t.Errorf("-version says %q, want the production build", out)
	}
}

// labPackage reports whether a package belongs to the laboratory: the
// simulated board, the fake devices, or any tool.
func labPackage(pkg string) bool {
	return pkg == "kpos/boards/sim" || pkg == "kpos/hal/fake" ||
		strings.HasPrefix(pkg, "kpos/boards/sim/") || strings.HasPrefix(pkg, "kpos/hal/fake/") || strings.HasPrefix(pkg, "kpos/tools/")
}

func printable(b []byte) string {
	if bytes.ContainsFunc(b, func(r rune) bool { return r < ' ' || r > '~' }) {
		return hex.EncodeToString(b)
	}
	return string(b)
}
