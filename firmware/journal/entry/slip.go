package entry

// Slip is what a transaction's slip prints beyond the other fields of a
// Txn, kept so that a reprint is the slip first printed: the EMV data, the
// issuer and acquirer of the answer, a QR sale's wallet and order, and how
// the cardholder was verified. It holds nothing secret: the cryptogram and
// the TVR are printed on every UnionPay slip.
type Slip struct {
	CryptogramKind string `json:"crypt_kind,omitempty"` // "TC" or "ARQC": what Txn.TC holds
	TVR            string `json:"tvr,omitempty"`        // hex
	TSI            string `json:"tsi,omitempty"`        // hex
	ATC            string `json:"atc,omitempty"`        // hex
	Issuer         string `json:"issuer,omitempty"`     // 发卡行 institution code
	Acquirer       string `json:"acquirer,omitempty"`   // 收单行 institution code
	Wallet         int    `json:"wallet,omitempty"`     // qr.Kind of a QR sale's code
	OrderNo        string `json:"order,omitempty"`
	CVM            int    `json:"cvm,omitempty"` // receipt.CVM
	OrigRRN        string `json:"orig_rrn,omitempty"`
}
