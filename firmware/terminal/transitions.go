package terminal

// State is a named step of a transaction.
type State string

// The states of a card sale.
const (
	StateAmount     State = "amount"      // the merchant types the amount
	StateConfirm    State = "confirm"     // the customer confirms it
	StateWaitCard   State = "wait-card"   // insert, tap or swipe
	StateCard       State = "card"        // EMV up to the first GENERATE AC (PIN included)
	StateStripe     State = "stripe"      // a swiped card: service code, PIN
	StateAuthorize  State = "authorize"   // journaled, then sent to the host
	StateComplete   State = "complete"    // issuer authentication, scripts, second GENERATE AC
	StateReverse    State = "reverse"     // money in doubt: reverse it now
	StateReceipt    State = "receipt"     // print the copies
	StateRemoveCard State = "remove-card" // wait for the card to leave
	StateApproved   State = "approved"    // final: approved
	StateDeclined   State = "declined"    // final: declined, nothing charged
	StateCancelled  State = "cancelled"   // final: given up before anything was sent
	StateFailed     State = "failed"      // final: an error the merchant must see
	StateRefused    State = "refused"     // final: the binding refused it before anything was read or sent
)

// Event is what a state's work concluded.
type Event string

// The events.
const (
	EvAmount       Event = "amount-entered"
	EvConfirmed    Event = "confirmed"
	EvCancel       Event = "cancel"
	EvChip         Event = "chip"       // a card inserted or tapped
	EvSwipe        Event = "swipe"      // a stripe read
	EvGoOnline     Event = "go-online"  // the card asked for the host (ARQC)
	EvOfflineOK    Event = "offline-ok" // the card approved offline (TC)
	EvDecline      Event = "decline"    // the card or the host declined
	EvHostApproved Event = "host-approved"
	EvNoAnswer     Event = "no-answer" // request sent, answer lost: money in doubt
	EvNotSent      Event = "not-sent"  // request never left: nothing to undo
	EvCardOK       Event = "card-ok"   // the card accepted the host's approval (TC)
	EvCardRefused  Event = "card-refused"
	EvReversed     Event = "reversed"
	EvPrinted      Event = "printed"
	EvRemoved      Event = "removed"
	EvFail         Event = "fail"
	EvRefused      Event = "refused" // the binding's status or limits refuse the sale
)

// transitions is the whole flow of a sale: from each state, which event leads
// where. An event a state does not list is a programming error and ends the
// transaction in StateFailed.
var transitions = map[State]map[Event]State{
	StateAmount:     {EvAmount: StateConfirm, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateConfirm:    {EvConfirmed: StateWaitCard, EvCancel: StateCancelled},
	StateWaitCard:   {EvChip: StateCard, EvSwipe: StateStripe, EvCancel: StateCancelled, EvFail: StateFailed},
	StateCard:       {EvGoOnline: StateAuthorize, EvOfflineOK: StateReceipt, EvDecline: StateDeclined, EvCancel: StateCancelled, EvFail: StateFailed},
	StateStripe:     {EvGoOnline: StateAuthorize, EvCancel: StateCancelled, EvFail: StateFailed},
	StateAuthorize:  {EvHostApproved: StateComplete, EvDecline: StateComplete, EvNoAnswer: StateReverse, EvNotSent: StateFailed},
	StateComplete:   {EvCardOK: StateReceipt, EvCardRefused: StateReverse, EvDecline: StateDeclined},
	StateReverse:    {EvReversed: StateDeclined, EvFail: StateDeclined},
	StateReceipt:    {EvPrinted: StateRemoveCard},
	StateRemoveCard: {EvRemoved: StateApproved},
}

// final reports whether s ends a transaction.
func final(s State) bool {
	switch s {
	case StateApproved, StateDeclined, StateCancelled, StateFailed, StateRefused:
		return true
	}
	return false
}

// The states of the payments without a card: the customer's payment code
// scanned by the terminal (qr-…), the terminal's code scanned by the
// customer (collect-…), and cash.
const (
	StateQRAmount      State = "qr-amount"      // the merchant types the amount
	StateQRScan        State = "qr-scan"        // scan the customer's payment code
	StateQRConfirm     State = "qr-confirm"     // amount, payee and masked code: confirm or rescan
	StateQRSend        State = "qr-send"        // journaled, then sent to the host
	StateQRPoll        State = "qr-poll"        // the wallet waits for the customer: ask the host until paid
	StateCollectAmount State = "collect-amount" // the merchant types the amount
	StateCollectOrder  State = "collect-order"  // journaled, then the host opens an order
	StateCollectShow   State = "collect-show"   // the merchant code on the display; poll for payment
	StateCollectCancel State = "collect-cancel" // given up or timed out: the order is reversed
	StateCashAmount    State = "cash-amount"    // the merchant types the amount
	StateCashConfirm   State = "cash-confirm"   // the merchant confirms the cash was taken
	StateCashRecord    State = "cash-record"    // journaled as completed
	StatePrint         State = "print"          // print the copies of a QR or cash sale
)

// The events of the payments without a card.
const (
	EvScanned  Event = "scanned"  // a payment code was read and classified
	EvRescan   Event = "rescan"   // not a payment code, unreadable, or the merchant wants another scan
	EvPending  Event = "pending"  // the host opened an order and waits for the customer
	EvTimeout  Event = "timeout"  // the customer did not pay in time
	EvRecorded Event = "recorded" // a cash sale is in the journal
)

// cardlessTransitions is the whole flow of a QR or cash sale, beside the
// card sale's table: from each state, which event leads where.
var cardlessTransitions = map[State]map[Event]State{
	StateQRAmount:  {EvAmount: StateQRScan, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateQRScan:    {EvScanned: StateQRConfirm, EvRescan: StateQRScan, EvCancel: StateCancelled, EvFail: StateFailed},
	StateQRConfirm: {EvConfirmed: StateQRSend, EvRescan: StateQRScan, EvCancel: StateCancelled},
	StateQRSend:    {EvHostApproved: StatePrint, EvPending: StateQRPoll, EvDecline: StateDeclined, EvNoAnswer: StateReverse, EvNotSent: StateFailed},
	StateQRPoll:    {EvHostApproved: StatePrint, EvDecline: StateDeclined, EvNoAnswer: StateReverse, EvFail: StateReverse},

	StateCollectAmount: {EvAmount: StateCollectOrder, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateCollectOrder:  {EvPending: StateCollectShow, EvHostApproved: StatePrint, EvDecline: StateDeclined, EvNoAnswer: StateReverse, EvNotSent: StateFailed},
	StateCollectShow:   {EvHostApproved: StatePrint, EvCancel: StateCollectCancel, EvTimeout: StateCollectCancel, EvFail: StateCollectCancel},
	StateCollectCancel: {EvReversed: StateCancelled, EvFail: StateCancelled},

	StateCashAmount:  {EvAmount: StateCashConfirm, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateCashConfirm: {EvConfirmed: StateCashRecord, EvCancel: StateCancelled},
	StateCashRecord:  {EvRecorded: StatePrint, EvFail: StateFailed},

	StateReverse: {EvReversed: StateDeclined, EvFail: StateDeclined},
	StatePrint:   {EvPrinted: StateApproved},
}
