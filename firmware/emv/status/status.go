// Package status names the bits of the Terminal Verification Results (tag 95)
// and the Transaction Status Information (tag 9B) as EMV 4.x Book 3
// Annexes C5 and C6 name them, for the kernel that sets them and for the
// terminal and tools that read them. It knows nothing of cards or of a
// transaction's steps.
package status

// Bit names one bit of the TVR (95) or the TSI (9B): the byte (1-based, as
// the spec counts) in the high byte, the mask in the low byte.
type Bit uint16

func bit(byteNo int, mask byte) Bit { return Bit(byteNo)<<8 | Bit(mask) }

func (b Bit) index() int { return int(b>>8) - 1 }
func (b Bit) mask() byte { return byte(b) }

// The TVR bits, named as EMV 4.x Book 3 Annex C5 names them.
const (
	TVROfflineDataAuthenticationNotPerformed Bit = 0x0180 // Offline data authentication was not performed
	TVRSDAFailed                             Bit = 0x0140 // SDA failed
	TVRICCDataMissing                        Bit = 0x0120 // ICC data missing
	TVRCardOnExceptionFile                   Bit = 0x0110 // Card appears on terminal exception file
	TVRDDAFailed                             Bit = 0x0108 // DDA failed
	TVRCDAFailed                             Bit = 0x0104 // CDA failed
	TVRSDASelected                           Bit = 0x0102 // SDA selected

	TVRDifferentApplicationVersions Bit = 0x0280 // ICC and terminal have different application versions
	TVRExpiredApplication           Bit = 0x0240 // Expired application
	TVRApplicationNotYetEffective   Bit = 0x0220 // Application not yet effective
	TVRServiceNotAllowed            Bit = 0x0210 // Requested service not allowed for card product
	TVRNewCard                      Bit = 0x0208 // New card

	TVRCardholderVerificationNotSuccessful Bit = 0x0380 // Cardholder verification was not successful
	TVRUnrecognisedCVM                     Bit = 0x0340 // Unrecognised CVM
	TVRPINTryLimitExceeded                 Bit = 0x0320 // PIN Try Limit exceeded
	TVRPINPadNotPresentOrNotWorking        Bit = 0x0310 // PIN entry required and PIN pad not present or not working
	TVRPINNotEntered                       Bit = 0x0308 // PIN entry required, PIN pad present, but PIN was not entered
	TVROnlinePINEntered                    Bit = 0x0304 // Online PIN entered

	TVRExceedsFloorLimit                    Bit = 0x0480 // Transaction exceeds floor limit
	TVRLowerConsecutiveOfflineLimitExceeded Bit = 0x0440 // Lower consecutive offline limit exceeded
	TVRUpperConsecutiveOfflineLimitExceeded Bit = 0x0420 // Upper consecutive offline limit exceeded
	TVRSelectedRandomlyForOnline            Bit = 0x0410 // Transaction selected randomly for online processing
	TVRMerchantForcedOnline                 Bit = 0x0408 // Merchant forced transaction online

	TVRDefaultTDOLUsed                   Bit = 0x0580 // Default TDOL used
	TVRIssuerAuthenticationFailed        Bit = 0x0540 // Issuer authentication failed
	TVRScriptFailedBeforeFinalGenerateAC Bit = 0x0520 // Script processing failed before final GENERATE AC
	TVRScriptFailedAfterFinalGenerateAC  Bit = 0x0510 // Script processing failed after final GENERATE AC
)

// The TSI bits, named as EMV 4.x Book 3 Annex C6 names them.
const (
	TSIOfflineDataAuthenticationPerformed Bit = 0x0180 // Offline data authentication was performed
	TSICardholderVerificationPerformed    Bit = 0x0140 // Cardholder verification was performed
	TSICardRiskManagementPerformed        Bit = 0x0120 // Card risk management was performed
	TSIIssuerAuthenticationPerformed      Bit = 0x0110 // Issuer authentication was performed
	TSITerminalRiskManagementPerformed    Bit = 0x0108 // Terminal risk management was performed
	TSIScriptProcessingPerformed          Bit = 0x0104 // Script processing was performed
)

var tvrNames = map[Bit]string{
	TVROfflineDataAuthenticationNotPerformed: "Offline data authentication was not performed",
	TVRSDAFailed:                             "SDA failed",
	TVRICCDataMissing:                        "ICC data missing",
	TVRCardOnExceptionFile:                   "Card appears on terminal exception file",
	TVRDDAFailed:                             "DDA failed",
	TVRCDAFailed:                             "CDA failed",
	TVRSDASelected:                           "SDA selected",
	TVRDifferentApplicationVersions:          "ICC and terminal have different application versions",
	TVRExpiredApplication:                    "Expired application",
	TVRApplicationNotYetEffective:            "Application not yet effective",
	TVRServiceNotAllowed:                     "Requested service not allowed for card product",
	TVRNewCard:                               "New card",
	TVRCardholderVerificationNotSuccessful:   "Cardholder verification was not successful",
	TVRUnrecognisedCVM:                       "Unrecognised CVM",
	TVRPINTryLimitExceeded:                   "PIN Try Limit exceeded",
	TVRPINPadNotPresentOrNotWorking:          "PIN entry required and PIN pad not present or not working",
	TVRPINNotEntered:                         "PIN entry required, PIN pad present, but PIN was not entered",
	TVROnlinePINEntered:                      "Online PIN entered",
	TVRExceedsFloorLimit:                     "Transaction exceeds floor limit",
	TVRLowerConsecutiveOfflineLimitExceeded:  "Lower consecutive offline limit exceeded",
	TVRUpperConsecutiveOfflineLimitExceeded:  "Upper consecutive offline limit exceeded",
	TVRSelectedRandomlyForOnline:             "Transaction selected randomly for online processing",
	TVRMerchantForcedOnline:                  "Merchant forced transaction online",
	TVRDefaultTDOLUsed:                       "Default TDOL used",
	TVRIssuerAuthenticationFailed:            "Issuer authentication failed",
	TVRScriptFailedBeforeFinalGenerateAC:     "Script processing failed before final GENERATE AC",
	TVRScriptFailedAfterFinalGenerateAC:      "Script processing failed after final GENERATE AC",
}

var tsiNames = map[Bit]string{
	TSIOfflineDataAuthenticationPerformed: "Offline data authentication was performed",
	TSICardholderVerificationPerformed:    "Cardholder verification was performed",
	TSICardRiskManagementPerformed:        "Card risk management was performed",
	TSIIssuerAuthenticationPerformed:      "Issuer authentication was performed",
	TSITerminalRiskManagementPerformed:    "Terminal risk management was performed",
	TSIScriptProcessingPerformed:          "Script processing was performed",
}

// TVR is the Terminal Verification Results.
type TVR [5]byte

// Set sets bit b.
func (t *TVR) Set(b Bit) { t[b.index()] |= b.mask() }

// Has reports whether bit b is set.
func (t TVR) Has(b Bit) bool { return t[b.index()]&b.mask() != 0 }

// Names lists the names of the bits set, in bit order.
func (t TVR) Names() []string { return names(t[:], tvrNames) }

// TSI is the Transaction Status Information.
type TSI [2]byte

// Set sets bit b.
func (t *TSI) Set(b Bit) { t[b.index()] |= b.mask() }

// Has reports whether bit b is set.
func (t TSI) Has(b Bit) bool { return t[b.index()]&b.mask() != 0 }

// Names lists the names of the bits set, in bit order.
func (t TSI) Names() []string { return names(t[:], tsiNames) }

func names(v []byte, table map[Bit]string) []string {
	var out []string
	for i, c := range v {
		for m := byte(0x80); m != 0; m >>= 1 {
			if c&m == 0 {
				continue
			}
			if n, ok := table[bit(i+1, m)]; ok {
				out = append(out, n)
			} else {
				out = append(out, "RFU bit")
			}
		}
	}
	return out
}
