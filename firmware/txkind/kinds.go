package txkind

import "kpos/firmware/txrules"

// The kinds. Each is declared once, here; its fields are documented on
// Kind. The order of declaration is the order of HostNames and All.
var (
	// Sale (消费) by card: chip, contactless or stripe.
	Sale = declare(&Kind{Name: "sale", Host: "sale",
		Wire: Wire{MTI: "0200", Proc: "000000", MsgType: "22", Cond: "00"}, EMV: 0x00,
		Title: "消费 SALE", Receipt: Title{"SALE", "消费"}, Menu: Entry{MainMenu, 0, "消费 Card sale", false},
		Rule: txrules.Sale, Limited: true, Books: Debit, Reversal: Reverse})

	// Void (消费撤销) of a sale of the open batch, by its trace number.
	Void = declare(&Kind{Name: "void", Host: "void",
		Wire:  Wire{MTI: "0200", Proc: "200000", MsgType: "23", Cond: "00"},
		Title: "撤销 VOID", Receipt: Title{"VOID", "消费撤销"}, Menu: Entry{MainMenu, 5, "撤销 Void", true},
		Rule: txrules.Void, Books: Nothing, Reversal: Reverse, Cancels: true})

	// Refund (退货) of an earlier sale, named by its reference and date.
	Refund = declare(&Kind{Name: "refund", Host: "refund",
		Wire: Wire{MTI: "0220", Proc: "200000", MsgType: "25", Cond: "00"}, EMV: 0x20,
		Title: "退货 REFUND", Receipt: Title{"REFUND", "退货"}, Menu: Entry{MainMenu, 6, "退货 Refund", true},
		Rule: txrules.Refund, Books: Credit, Reversal: Reverse})

	// QRSale (扫码收款): the terminal scans the customer's payment code.
	QRSale = declare(&Kind{Name: "sale", Method: "qr", Host: "QR sale",
		Wire:  Wire{MTI: "0200", Proc: "000000", MsgType: "22", Cond: "00"},
		Title: "扫码收款 QR SALE", Receipt: Title{"SALE", "消费"},
		Menu: Entry{MainMenu, 1, "扫码收款 QR sale: scan the customer's code", false},
		Rule: txrules.Sale, Limited: true, Books: Debit, Reversal: Reverse, Polls: true})

	// QRCollect (二维码收款): the customer scans the terminal's code for an
	// order the host opened; on the wire it is a QR sale.
	QRCollect = declare(&Kind{Name: "sale", Method: "qr", Host: QRSale.Host, Wire: QRSale.Wire,
		Title: "二维码收款 QR COLLECT", Receipt: Title{"SALE", "消费"},
		Menu: Entry{MainMenu, 2, "二维码收款 QR collect: show my code", false},
		Rule: txrules.Sale, Limited: true, Books: Debit, Reversal: Reverse, Polls: true})

	// Cash (现金): recorded so that settlement covers every method; never
	// sent.
	Cash = declare(&Kind{Name: "sale", Method: "cash",
		Title: "现金 CASH SALE", Receipt: Title{"SALE", "消费"}, Menu: Entry{MainMenu, 3, "现金 Cash sale", false},
		Rule: txrules.Sale, Limited: true, Books: Debit, Reversal: Local})

	// Balance (余额查询): moves nothing; shown, printed only if asked.
	Balance = declare(&Kind{Name: "balance", Host: "balance",
		Wire: Wire{MTI: "0200", Proc: "310000", MsgType: "01", Cond: "00"}, EMV: 0x31,
		Title: "余额查询 BALANCE", Receipt: Title{"BALANCE", "余额查询"},
		Menu: Entry{PreAuthMenu, 0, "余额查询 Balance inquiry", false},
		Rule: txrules.Balance, NoAmount: true, Books: Nothing, Reversal: NoReversal})

	// PreAuth (预授权) holds an amount on the card.
	PreAuth = declare(&Kind{Name: "preauth", Host: "pre-authorization",
		Wire: Wire{MTI: "0100", Proc: "030000", MsgType: "10", Cond: "06"}, EMV: 0x03,
		Title: "预授权 PRE-AUTH", Receipt: Title{"PREAUTH", "预授权"},
		Menu: Entry{PreAuthMenu, 1, "预授权 Pre-authorization", false},
		Rule: txrules.PreAuth, Limited: true, Books: Nothing, Reversal: Reverse})

	// Completion (预授权完成) of a pre-authorization, up to 115 % of it; a
	// sale in the books.
	Completion = declare(&Kind{Name: "preauth-complete", Host: "pre-authorization completion",
		Wire:  Wire{MTI: "0200", Proc: "000000", MsgType: "20", Cond: "06"},
		Title: "预授权完成 COMPLETION", Receipt: Title{"PREAUTH COMPLETE", "预授权完成"},
		Menu: Entry{PreAuthMenu, 2, "预授权完成 Completion", false},
		Rule: txrules.Completion, Limited: true, Books: Debit, Reversal: Reverse})

	// PreAuthVoid (预授权撤销) releases a pre-authorization.
	PreAuthVoid = declare(&Kind{Name: "preauth-void", Host: "pre-authorization void",
		Wire:  Wire{MTI: "0100", Proc: "200000", MsgType: "11", Cond: "06"},
		Title: "预授权撤销 PRE-AUTH VOID", Receipt: Title{"PREAUTH VOID", "预授权撤销"},
		Menu: Entry{PreAuthMenu, 3, "预授权撤销 Pre-authorization void", false},
		Rule: txrules.PreAuthVoid, Books: Nothing, Reversal: Reverse})

	// CompletionVoid (预授权完成撤销) cancels a completion of the open batch;
	// the pre-authorization is open again.
	CompletionVoid = declare(&Kind{Name: Completion.Name + "-void", Host: "pre-authorization completion void",
		Wire:  Wire{MTI: "0200", Proc: "200000", MsgType: "21", Cond: "06"},
		Title: "预授权完成撤销 COMPLETION VOID", Receipt: Title{"PREAUTH COMPLETE VOID", "预授权完成撤销"},
		Menu: Entry{PreAuthMenu, 4, "预授权完成撤销 Completion void", false},
		Rule: txrules.CompletionVoid, Books: Nothing, Reversal: Reverse, Cancels: true})

	// QRQuery asks the host how a QR payment ended; never journaled.
	QRQuery = declare(&Kind{Host: "QR result query",
		Wire:     Wire{MTI: "0620", Proc: "330000", MsgType: "30", Cond: "00"},
		Reversal: NoReversal})

	// OfflineAdvice tells the host of a sale the card approved offline
	// (TC), before settlement; the sale itself is journaled as a Sale.
	OfflineAdvice = declare(&Kind{Host: "offline sale advice",
		Wire:     Wire{MTI: "0220", Proc: "000000", MsgType: "36", Cond: "00"},
		Rule:     txrules.Sale,
		Reversal: Repeat})

	// CashRecord is a cash sale recorded under the journal's own name for
	// cash (journal.Cash); the counter records its cash sales as Cash.
	CashRecord = declare(&Kind{Name: "cash", Method: "cash", Receipt: Title{"CASH", "现金"},
		Rule: txrules.Sale, Books: Debit, Reversal: Local})
)
