package emvconfig

import "testing"

func TestCheck(t *testing.T) {
	good := func() Config {
		return Config{Terminal: TerminalConfig{IFDSerial: "12345678"},
			AIDs: []AIDConfig{{AID: []byte{0xA0, 0, 0, 0x03, 0x33}, Versions: [][2]byte{{0x00, 0x30}}}}}
	}
	c := good()
	if err := c.Check(); err != nil || c.CAPKs == nil || c.Terminal.POSEntryMode != 0x05 {
		t.Fatalf("good config: %v, defaults %v %02X", err, c.CAPKs != nil, c.Terminal.POSEntryMode)
	}
	bad := map[string]func(*Config){
		"no applications":     func(c *Config) { c.AIDs = nil },
		"short IFD serial":    func(c *Config) { c.Terminal.IFDSerial = "1234" },
		"short AID":           func(c *Config) { c.AIDs[0].AID = []byte{0xA0} },
		"AID with no version": func(c *Config) { c.AIDs[0].Versions = nil },
	}
	for name, f := range bad {
		c := good()
		f(&c)
		if err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
