package cardsim

import "errors"

// command is a parsed short command APDU (ISO 7816-4 cases 1 to 4).
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	le               int  // 0 to 256
	hasLe            bool // case 2 or 4
	case4            bool
}

var errAPDULength = errors.New("cardsim: APDU length does not match its Lc")

// parseCommand splits a command APDU. Extended lengths are not supported by
// EMV cards; such commands are rejected with a length error.
func parseCommand(b []byte) (command, error) {
	if len(b) < 4 {
		return command{}, errAPDULength
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	switch {
	case len(b) == 4:
	case len(b) == 5:
		c.hasLe = true
		c.le = int(b[4])
		if c.le == 0 {
			c.le = 256
		}
	default:
		lc := int(b[4])
		if lc == 0 {
			return command{}, errAPDULength // extended length
		}
		switch len(b) {
		case 5 + lc:
		case 6 + lc:
			c.hasLe, c.case4 = true, true
			c.le = int(b[5+lc])
			if c.le == 0 {
				c.le = 256
			}
		default:
			return command{}, errAPDULength
		}
		c.data = b[5 : 5+lc]
	}
	return c, nil
}

// Status words.
var (
	swOK              = []byte{0x90, 0x00}
	swWrongLength     = []byte{0x67, 0x00}
	swSecurity        = []byte{0x69, 0x82}
	swAuthBlocked     = []byte{0x69, 0x83}
	swConditions      = []byte{0x69, 0x85}
	swConditionsOfUse = []byte{0x69, 0x86}
	swWrongData       = []byte{0x6A, 0x80}
	swFuncNotSupp     = []byte{0x6A, 0x81}
	swNotFound        = []byte{0x6A, 0x82}
	swRecordNotFound  = []byte{0x6A, 0x83}
	swWrongP1P2       = []byte{0x6A, 0x86}
	swDataNotFound    = []byte{0x6A, 0x88}
	swINSNotSupported = []byte{0x6D, 0x00}
	swCLANotSupported = []byte{0x6E, 0x00}
	swSelectedBlocked = []byte{0x62, 0x83}
	swAuthFailed      = []byte{0x63, 0x00}
)
