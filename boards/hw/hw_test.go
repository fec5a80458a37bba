package hw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kpos/boards"
	"kpos/firmware/merchantpw"
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
		"one slot": {strings.Replace(string(good), "[firmware]\n", "[firmware]\nslots = [\"/dev/kpos/slot-a\"]\n", 1),
			"[firmware] slots"},
	}
	for name, c := range cases {
		path := filepath.Join(t.TempDir(), "b.toml")
		os.WriteFile(path, []byte(c.text), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

// The committed boards keep their device key outside the data directory
// and ask for a real password cost.
func TestCommittedBoardsPlaceTheKeyOutsideTheData(t *testing.T) {
	rpi, err := Load("../rpi-ref.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := rpi.KeySource()
	if src.Kind != boards.KeyFile || strings.HasPrefix(src.Path, "/var/lib/kpos/") || !filepath.IsAbs(src.Path) {
		t.Fatalf("rpi-ref key: %+v", src)
	}
	if rpi.PasswordIterations < merchantpw.MinIterations {
		t.Fatalf("rpi-ref password cost %d", rpi.PasswordIterations)
	}
	hil, err := Load("../hil.toml")
	if err != nil {
		t.Fatal(err)
	}
	if abs, _ := filepath.Abs(".."); hil.KeySource().Path != filepath.Join(abs, "test-key", "device.key") {
		t.Fatalf("hil key relative to its board file: %s", hil.KeySource().Path)
	}
}

func TestKeyAndCostSectionsRefusedClearly(t *testing.T) {
	good, err := os.ReadFile("../hil.toml")
	if err != nil {
		t.Fatal(err)
	}
	noKey := strings.Replace(string(good), "[device_key]\nsource = \"file\"\npath = \"test-key/device.key\"\n", "", 1)
	cases := map[string]struct{ text, want string }{
		"no device key":      {noKey, "no [device_key]"},
		"unknown source":     {strings.Replace(string(good), `source = "file"`, `source = "cloud"`, 1), `source "cloud"`},
		"sealed, no secret":  {strings.Replace(string(good), `source = "file"`, `source = "sealed"`, 1), "hardware secret"},
		"device, not a tpm":  {strings.Replace(string(good), `source = "file"`, "source = \"file\"\ndevice = \"/dev/tpm0\"", 1), "device is for source"},
		"both spellings":     {strings.Replace(string(good), `name = "hil"`, "name = \"hil\"\ndevice_key_file = \"/k\"", 1), "both given"},
		"cost below a floor": {strings.Replace(string(good), "password_iterations = 10000", "password_iterations = 100", 1), "password_iterations 100"},
	}
	for name, c := range cases {
		path := filepath.Join(t.TempDir(), "b.toml")
		os.WriteFile(path, []byte(c.text), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
	// A TPM: its device defaults to the kernel's resource manager.
	path := filepath.Join(t.TempDir(), "b.toml")
	os.WriteFile(path, []byte(strings.Replace(string(good), "source = \"file\"", "source = \"tpm\"", 1)), 0o600)
	f, err := Load(path)
	if err != nil || f.KeySource().Kind != boards.KeySealed || f.KeySource().Sealer == nil || f.DeviceKey.Device != "/dev/tpmrm0" {
		t.Fatalf("tpm: %+v %v", f.DeviceKey, err)
	}
	// The older spelling still loads, as a key file.
	os.WriteFile(path, []byte(strings.Replace(noKey, `name = "hil"`, "name = \"hil\"\ndevice_key_file = \"/etc/kpos/device.key\"", 1)), 0o600)
	f, err = Load(path)
	if err != nil || f.KeySource().Kind != boards.KeyFile || f.KeySource().Path != "/etc/kpos/device.key" {
		t.Fatalf("device_key_file: %+v %v", f.KeySource(), err)
	}
}
