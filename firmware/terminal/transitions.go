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
)

// transitions is the whole flow of a sale: from each state, which event leads
// where. An event a state does not list is a programming error and ends the
// transaction in StateFailed.
var transitions = map[State]map[Event]State{
	StateAmount:     {EvAmount: StateConfirm, EvCancel: StateCancelled},
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
	case StateApproved, StateDeclined, StateCancelled, StateFailed:
		return true
	}
	return false
}
