package hw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommittedBoardFilesLoad(t *testing.T) {
	files, _ := filepath.Glob("../*.toml")
	if len(files) < 2 {
		t.Fatalf("board files: %v", files)
	}
	for _, f := range files {
		b, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if b.Printer.Device == "" || b.Tty.Device == "" || len(b.Reader.Slots) == 0 {
			t.Errorf("%s: incomplete: %+v", f, b)
		}
		// Every board file declares its display's size.
		if b.Tty.Columns == 0 || b.Tty.Rows == 0 {
			t.Errorf("%s: no display size ([tty] columns and rows)", f)
		}
	}
	b, _ := Load("../rpi-ref.toml")
	if b.Printer.Width58or80 != 58 || !b.GPIO.PaperSensor.ActiveLow || b.Modem.APN != "CMNET" || !b.Reader.Slots[0].Contactless {
		t.Fatalf("rpi-ref decoded wrong: %+v", b)
	}
}

func TestBadBoardFilesAreRefusedClearly(t *testing.T) {
	good, err := os.ReadFile("../hil.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ text, want string }{
		"typo":       {strings.Replace(string(good), "baud = 115200", "buad = 115200", 1), "unknown keys"},
		"no name":    {strings.Replace(string(good), `name = "hil"`, "", 1), "no name"},
		"bad link":   {strings.Replace(string(good), `driver = "modem"`, `driver = "carrier-pigeon"`, 1), "link driver"},
		"no printer": {strings.Replace(string(good), `device = "/run/kpos-hil/printer"`, "", 1), "no printer"},
		"not toml":   {"name = ", "board file"},
		"one slot":   {string(good) + "\n[firmware]\nslots = [\"/dev/kpos/slot-a\"]\n", "[firmware] slots"},
	}
	for name, c := range cases {
		path := filepath.Join(t.TempDir(), "b.toml")
		os.WriteFile(path, []byte(c.text), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}
