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

	// The other card-present transactions walk the same table: a refund
	// starts by typing the original's reference, a balance inquiry at the
	// card, a pre-authorization at the amount.
	StateRefundRef   State = "refund-ref"   // the original's reference number and date
	StateShowBalance State = "show-balance" // the balance on the screen, printed only if asked
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
	EvEntered      Event = "entered" // the merchant typed what was asked
	EvBalance      Event = "balance" // a balance inquiry's answer to show
	// The kernel asks for another way to read the card, in the same sale.
	EvUseContact Event = "use-contact" // contactless refused (e.g. over its limit): insert the card
	EvSeePhone   Event = "see-phone"   // a phone wallet asks its holder to look at it, then tap again
	EvFallback   Event = "fallback"    // the chip cannot be read: swipe that card's stripe
)

// transitions is the whole flow of a sale: from each state, which event leads
// where. An event a state does not list is a programming error and ends the
// transaction in StateFailed.
var transitions = map[State]map[Event]State{
	StateRefundRef: {EvEntered: StateAmount, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateAmount:    {EvAmount: StateConfirm, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateConfirm:   {EvConfirmed: StateWaitCard, EvCancel: StateCancelled},
	StateWaitCard:  {EvChip: StateCard, EvSwipe: StateStripe, EvCancel: StateCancelled, EvFail: StateFailed},
	StateCard: {EvGoOnline: StateAuthorize, EvOfflineOK: StateReceipt, EvDecline: StateDeclined, EvCancel: StateCancelled, EvFail: StateFailed,
		EvUseContact: StateWaitCard, EvSeePhone: StateWaitCard, EvFallback: StateWaitCard},
	StateStripe:      {EvGoOnline: StateAuthorize, EvUseContact: StateWaitCard, EvCancel: StateCancelled, EvFail: StateFailed},
	StateAuthorize:   {EvHostApproved: StateComplete, EvDecline: StateComplete, EvNoAnswer: StateReverse, EvNotSent: StateFailed},
	StateComplete:    {EvCardOK: StateReceipt, EvBalance: StateShowBalance, EvCardRefused: StateReverse, EvDecline: StateDeclined},
	StateShowBalance: {EvPrinted: StateRemoveCard},
	StateReverse:     {EvReversed: StateDeclined, EvFail: StateDeclined},
	StateReceipt:     {EvPrinted: StateRemoveCard},
	StateRemoveCard:  {EvRemoved: StateApproved},
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

// The states of the merchant's transactions on an earlier one, found in the
// journal by its trace number, without the card: the void of a sale (card,
// QR or cash) in the open batch, and the completion and the void of a
// pre-authorization.
const (
	StateOrigTrace   State = "orig-trace"   // type the original's trace number
	StateOrigAmount  State = "orig-amount"  // a completion's amount (the pre-authorized one by default)
	StateOrigConfirm State = "orig-confirm" // the original shown: confirm
	StateOrigSend    State = "orig-send"    // journaled, then sent to the host (a cash void stays local)
)

// The events of the transactions on an earlier one.
const (
	EvFound      Event = "found"       // the original exists and may be acted on
	EvNeedAmount Event = "need-amount" // found; the amount is still to type
)

// originalTransitions is the whole flow of a void, a completion and a
// pre-authorization void: from each state, which event leads where.
var originalTransitions = map[State]map[Event]State{
	StateOrigTrace:   {EvFound: StateOrigConfirm, EvNeedAmount: StateOrigAmount, EvCancel: StateCancelled, EvFail: StateFailed, EvRefused: StateRefused},
	StateOrigAmount:  {EvAmount: StateOrigConfirm, EvCancel: StateCancelled, EvRefused: StateRefused},
	StateOrigConfirm: {EvConfirmed: StateOrigSend, EvCancel: StateCancelled},
	StateOrigSend:    {EvHostApproved: StatePrint, EvRecorded: StatePrint, EvDecline: StateDeclined, EvNoAnswer: StateReverse, EvNotSent: StateFailed},
	StateReverse:     {EvReversed: StateDeclined, EvFail: StateDeclined},
	StatePrint:       {EvPrinted: StateApproved},
}
