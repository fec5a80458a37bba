package boards

import "fmt"

// Crypto is the board's choice of algorithm families (issue: national
// algorithms): which offline data authentication the kernel performs, and
// the acquirer link's mode.
//
//	rsa   RSA offline data authentication, 3DES keys, PIN block and MAC
//	sm    SM2 offline data authentication (PBOC 3.0 SM cards), the link in SM
//	      mode: SM4 keys, the 16-byte SM4 PIN block, the SM4 MAC
//	both  the kernel takes RSA or SM2 per card, from the CA key's algorithm
//	      indicator; the link mode is the acquirer's (its parameters)
type Crypto struct {
	Mode string // "rsa", "sm" or "both"
	// Link is the acquirer link's cipher family: "3DES" or "SM4".
	Link string
}

// ParseCrypto makes the switch from a board's or the command line's mode
// ("" is both) and the acquirer's link algorithm ("" is 3DES), which
// decides the link only in both.
func ParseCrypto(mode, acquirerLink string) (Crypto, error) {
	switch acquirerLink {
	case "", "3DES":
		acquirerLink = "3DES"
	case "SM4":
	default:
		return Crypto{}, fmt.Errorf("boards: acquirer link algorithm %q: want 3DES or SM4", acquirerLink)
	}
	switch mode {
	case "rsa":
		return Crypto{Mode: mode, Link: "3DES"}, nil
	case "sm":
		return Crypto{Mode: mode, Link: "SM4"}, nil
	case "", "both":
		return Crypto{Mode: "both", Link: acquirerLink}, nil
	}
	return Crypto{}, fmt.Errorf("boards: crypto %q: want rsa, sm or both", mode)
}
