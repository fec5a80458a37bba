package emvconfig

import "kpos/firmware/emv/capk"

// ODAAlgorithms is the terminal's choice of offline data authentication
// families: which CA keys the kernel uses. A CA key of a family not chosen
// is as good as absent (ICC data missing, the method failed), as EMV treats
// a CA key the terminal does not hold.
type ODAAlgorithms string

// The choices; the zero value is both.
const (
	ODAAlgorithmsRSA  ODAAlgorithms = "rsa"  // RSA CA keys only
	ODAAlgorithmsSM   ODAAlgorithms = "sm"   // SM2 CA keys only (PBOC 3.0 SM cards)
	ODAAlgorithmsBoth ODAAlgorithms = "both" // per card, from the CA key's algorithm indicator
)

// Allows reports whether a CA key of algorithm indicator alg may be used.
func (a ODAAlgorithms) Allows(alg byte) bool {
	switch a {
	case ODAAlgorithmsRSA:
		return alg != capk.AlgSM2
	case ODAAlgorithmsSM:
		return alg == capk.AlgSM2
	}
	return true
}
