// Package issuerscript is issuer script processing as EMV 4.x Book 3 10.10
// and Book 4 A5 define it: the templates 71 (before the final GENERATE AC)
// and 72 (after it) of a host response, the commands each holds, and the
// five-byte result of each script (tag 9F5B). It knows nothing of the card
// or the kernel's session: the kernel sends each command through the
// function it passes to Run.
package issuerscript

import "kpos/firmware/emv/tlv"

// maxCommands bounds the commands of one script.
const maxCommands = 15

// Results of a script (the high nibble of result byte 1).
const (
	failed    byte = 0x10
	performed byte = 0x20
)

// Script is one issuer script template.
type Script struct {
	ID        [4]byte  // tag 9F18, zeros when absent
	Commands  [][]byte // tags 86 in order
	Malformed bool     // an element other than 9F18 or 86, or too many commands
}

// Parse returns the scripts of one kind (tag 71 or 72) in the order
// received; an error when scripts is not BER-TLV.
func Parse(scripts []byte, kind tlv.Tag) ([]Script, error) {
	objs, err := tlv.Parse(scripts)
	if err != nil {
		return nil, err
	}
	var out []Script
	for _, tmpl := range objs {
		if tmpl.Tag != kind {
			continue
		}
		var sc Script
		for _, c := range tmpl.Children {
			switch c.Tag {
			case 0x9F18:
				if len(c.Value) == 4 {
					copy(sc.ID[:], c.Value)
				}
			case 0x86:
				sc.Commands = append(sc.Commands, c.Value)
			default:
				sc.Malformed = true
			}
		}
		if len(sc.Commands) > maxCommands {
			sc.Malformed = true
		}
		out = append(out, sc)
	}
	return out, nil
}

// Run sends the script's commands in order through send, stopping at the
// first that fails (a status other than 9000, 62xx or 63xx, or a command
// too short to be one), and returns the script result (9F5B): result and
// failing command number, then the script identifier. ok is false when the
// script failed. An error of send ends the run.
func (sc Script) Run(send func(cmd []byte) (sw uint16, err error)) (result [5]byte, ok bool, err error) {
	r := performed
	if sc.Malformed {
		r = failed
	}
	for i, cmd := range sc.Commands {
		if r != performed {
			break
		}
		if len(cmd) < 4 {
			r = failed | byte(i+1)
			break
		}
		sw, err := send(cmd)
		if err != nil {
			return result, false, err
		}
		if sw1 := byte(sw >> 8); sw1 != 0x90 && sw1 != 0x62 && sw1 != 0x63 {
			r = failed | byte(i+1)
			break
		}
	}
	result[0] = r
	copy(result[1:], sc.ID[:])
	return result, r == performed, nil
}
