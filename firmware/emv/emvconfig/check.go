package emvconfig

import (
	"errors"
	"fmt"

	"kpos/firmware/emv/capk"
)

// Check refuses a configuration the kernel cannot run with and fills in
// defaults: an empty CA key store, POS entry mode 05 (chip).
func (c *Config) Check() error {
	if len(c.AIDs) == 0 {
		return errors.New("emv: config has no applications")
	}
	if c.CAPKs == nil {
		c.CAPKs = capk.NewStore()
	}
	if len(c.Terminal.IFDSerial) != 8 {
		return errors.New("emv: config: IFD serial must be 8 characters")
	}
	for _, a := range c.AIDs {
		if len(a.AID) < 5 || len(a.AID) > 16 || len(a.Versions) == 0 {
			return fmt.Errorf("emv: config: application %X needs a 5 to 16 byte AID and a version", a.AID)
		}
	}
	if c.Terminal.POSEntryMode == 0 {
		c.Terminal.POSEntryMode = 0x05
	}
	return nil
}
