package sim

import (
	"fmt"
	"path/filepath"
	"strings"

	"kpos/boards"
	"kpos/tools/hostsim"
)

// The simulated SM terminal: a second provisioned identity whose acquirer
// record (testdata/host/terminals.toml) runs the link in SM mode, with an
// SM4 TMK. TEST ONLY values (docs/test-cards.md).
var (
	testIdentitySM = boards.Identity{TerminalID: "12345699", MerchantID: "898320154110099", MerchantName: "国密商户 KPOS SM Shop"}
	testSerialSM   = "KPOS-SIM-SM01"
	testTMKSM      = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
)

// applyCrypto sets the board's algorithm switch: -crypto, and in both the
// link mode the acquirer's record for the board's terminal names. An SM
// link is the SM terminal's.
func applyCrypto(b *boards.Board, opt boards.Options) error {
	link := ""
	if data, err := hostsim.LoadData(filepath.Join(opt.ParamsDir, "host")); err == nil {
		for _, t := range data.Terminals {
			if t.TID == b.Identity.TerminalID {
				link = strings.ToUpper(t.Algorithm)
			}
		}
	}
	c, err := boards.ParseCrypto(opt.Crypto, link)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	b.Crypto = c
	if c.Link == "SM4" && b.InitialTMK != nil {
		b.Identity, b.InitialTMK, b.Serial = testIdentitySM, testTMKSM, testSerialSM
	}
	return nil
}
