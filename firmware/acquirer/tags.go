package acquirer

// Private tags of field 62 in the K-code activation, binding status and
// parameter download messages (docs/acquirer.md).
const (
	TagSerial        = "01" // terminal serial number
	TagKCode         = "02" // K code as issued (no separators, no check character)
	TagOTP           = "03" // the one-time code the merchant typed
	TagPhone         = "10" // masked phone the code was sent to
	TagOTPValidity   = "11" // seconds the code stays valid
	TagTriesLeft     = "12" // one-time code tries left
	TagTMK           = "20" // TMK under the K-code transport key, hex
	TagTMKCheck      = "21" // TMK check value (4 bytes), hex
	TagPerTxnLimit   = "30" // fen
	TagDailyLimit    = "31" // fen
	TagFeeRate       = "32" // basis points per method: "card:60,qr:38"
	TagSettleTime    = "33" // HH:MM
	TagHostAddr      = "34" // host:port
	TagAPN           = "35" // cellular APN
	TagMethods       = "36" // accepted payment methods, comma separated
	TagKCodeExpiry   = "37" // YYYYMMDD
	TagMCC           = "38" // merchant category code
	TagCity          = "39" // merchant city
	TagAcquirerIIN   = "3A" // acquirer institution identification, 8 digits
	TagHolder        = "50" // settlement account holder, masked
	TagAccountRef    = "51" // the host's reference for a settlement account
	TagBindingStatus = "40" // valid, expiring, expired, revoked
	TagStatusReason  = "41" // the host's words for a revocation
)
