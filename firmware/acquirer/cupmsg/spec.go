package cupmsg

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// The field kinds of the dialect, as constructors so that the spec below
// reads like the table in docs/acquirer.md.

// n: numeric, BCD, left-aligned; fixed length in digits.
func n(length int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: bcdLeft, Pref: prefix.BCD.Fixed})
}

// nRight: numeric, BCD, right-aligned (pad nibble first); fixed length.
func nRight(length int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: bcdRight, Pref: prefix.BCD.Fixed})
}

// nVar: numeric, BCD, with a BCD length prefix counting digits.
func nVar(pref prefix.Prefixer, max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: bcdLeft, Pref: pref})
}

// zVar: track data, hex nibbles, with a BCD length prefix counting nibbles.
func zVar(pref prefix.Prefixer, max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: trackLeft, Pref: pref})
}

// ans: text carried byte for byte (ASCII in practice); fixed length in bytes.
func ans(length int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: prefix.BCD.Fixed})
}

// ansVar: text carried byte for byte, with a BCD length prefix counting bytes.
func ansVar(pref prefix.Prefixer, max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: encoding.Binary, Pref: pref})
}

// gbk: Chinese text, UTF-8 in the program and GBK on the wire, space padded.
func gbk(length int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: prefix.BCD.Fixed,
		Pad: padding.Right(' '), Packer: gbkPacker{}, Unpacker: gbkUnpacker{}})
}

// gbkVar: Chinese text with a BCD length prefix counting GBK bytes.
func gbkVar(pref prefix.Prefixer, max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: encoding.Binary, Pref: pref,
		Packer: gbkPacker{}, Unpacker: gbkUnpacker{}})
}

// b: binary, fixed length in bytes.
func b(length int, desc string) field.Field {
	return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: prefix.BCD.Fixed})
}

// bVar: binary with a BCD length prefix counting bytes.
func bVar(pref prefix.Prefixer, max int, desc string) field.Field {
	return field.NewBinary(&field.Spec{Length: max, Description: desc, Enc: encoding.Binary, Pref: pref})
}

// newSpec builds the China UnionPay POS dialect: one message type
// indicator in BCD, one 64-bit binary bitmap (no secondary bitmap), and the
// fields a POS terminal and its acquirer exchange. Field numbers, lengths and
// encodings are documented one by one in docs/acquirer.md.
func newSpec() *iso8583.MessageSpec {
	return &iso8583.MessageSpec{
		Name: "China UnionPay POS",
		Fields: map[int]field.Field{
			0: n(4, "Message Type Indicator"),
			1: field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary,
				Pref: prefix.Binary.Fixed, DisableAutoExpand: true}),
			2:  nVar(bcdLL, 19, "Primary Account Number"),
			3:  n(6, "Processing Code"),
			4:  n(12, "Amount, Transaction"),
			11: n(6, "System Trace Audit Number"),
			12: n(6, "Time, Local Transaction (hhmmss)"),
			13: n(4, "Date, Local Transaction (MMDD)"),
			14: n(4, "Date, Expiration (YYMM)"),
			15: n(4, "Date, Settlement (MMDD)"),
			22: n(3, "Point of Service Entry Mode"),
			23: nRight(3, "Card Sequence Number (right-aligned)"),
			25: n(2, "Point of Service Condition Code"),
			26: n(2, "Point of Service PIN Capture Code"),
			32: nVar(bcdLL, 11, "Acquiring Institution Identification Code"),
			35: zVar(bcdLL, 37, "Track 2 Data"),
			36: zVar(bcdLLL, 104, "Track 3 Data"),
			37: ans(12, "Retrieval Reference Number"),
			38: ans(6, "Authorization Identification Response"),
			39: ans(2, "Response Code"),
			41: ans(8, "Card Acceptor Terminal Identification"),
			42: ans(15, "Card Acceptor Identification Code"),
			43: gbk(40, "Card Acceptor Name/Location (GBK)"),
			44: ansVar(bcdLL, 25, "Additional Response Data"),
			46: ansVar(bcdLLL, 999, "Additional Data, Private (device information)"),
			48: nVar(bcdLLL, 322, "Additional Data, Private (settlement totals)"),
			49: ans(3, "Currency Code, Transaction"),
			52: b(8, "PIN Data"),
			53: n(16, "Security Related Control Information"),
			54: ansVar(bcdLLL, 20, "Balance Amount"),
			55: bVar(bcdLLL, 255, "ICC System Related Data"),
			56: gbkVar(bcdLLL, 999, "Host Message Text (GBK)"),
			59: ansVar(bcdLLL, 999, "Additional Data, Private (QR and customised data)"),
			60: nVar(bcdLLL, 100, "Reserved Private (60.1 message type, 60.2 batch, 60.3 network management code ...)"),
			61: nVar(bcdLLL, 29, "Original Message (61.1 batch, 61.2 trace, 61.3 date ...)"),
			62: bVar(bcdLLL, 999, "Reserved Private (keys, parameters, activation data)"),
			63: ansVar(bcdLLL, 163, "Reserved Private (operator, card organisation, reason)"),
			64: b(8, "Message Authentication Code"),
		},
	}
}

// Dialect is the China UnionPay POS message spec. It is built once per call;
// callers that pack many messages keep theirs.
func Dialect() *iso8583.MessageSpec { return newSpec() }
