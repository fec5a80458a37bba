package terminal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/terminal/cardholder"
	"kpos/firmware/terminal/cardread"
	"kpos/firmware/terminal/cardwait"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/outcome"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/qrpay"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// sale carries one transaction's data from state to state.
type sale struct {
	t       *Terminal
	typed   []hal.Key
	history []string

	amount  int64
	trace   uint32
	batch   uint32
	started time.Time

	event   hal.CardEvent
	first   emv.FirstResult
	online  emv.Online
	final   emv.FinalResult
	request acquirer.Request
	resp    acquirer.Response
	method  journal.Method
	message string // shown on a final screen

	note       string  // why the last scan was refused
	code       qr.Code // the customer's payment code
	merchantQR bool    // the customer scans the terminal's code
	payload    string  // the merchant code shown

	op       *txkind.Kind // what kind of transaction (nil: a card sale)
	orig     journal.Txn  // the original of a void, refund found in the journal, completion
	origRRN  string       // a refund's reference: the original's RRN and date (MMDD)
	origDate string
	masked   string        // the masked card number when no card was read (void, completion)
	cardMode cardwait.Mode // which ways of presenting the card the sale still accepts
	balance  int64         // a balance inquiry's answer
}

type step func(s *sale, ctx context.Context) (Event, error)

// steps is each state's work; the table in transitions.go says where its
// event leads.
var steps = map[State]step{
	StateAmount:      (*sale).enterAmount,
	StateConfirm:     (*sale).confirm,
	StateWaitCard:    (*sale).waitCard,
	StateCard:        (*sale).readChip,
	StateStripe:      (*sale).readStripe,
	StateAuthorize:   (*sale).authorize,
	StateComplete:    (*sale).complete,
	StateReverse:     (*sale).reverseNow,
	StateReceipt:     (*sale).printReceipt,
	StateRemoveCard:  (*sale).waitRemoval,
	StateRefundRef:   (*sale).enterReference,
	StateShowBalance: (*sale).showBalance,
}

func (s *sale) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func (s *sale) enterAmount(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ku := panel.Prefilled(s.typed, s.t.dev.Keypad)
	amount, err := ui.New(s.t.dev.Display, ku).EnterAmountUpTo(ctx, s.kind().Title, s.amountLimit(checks.MethodOf(journal.Chip, false)))
	if err != nil {
		return EvCancel, panel.IgnoreCancel(err)
	}
	s.amount = amount
	if s.kind() == txkind.Refund && s.orig.Trace != 0 {
		// A refund of this terminal's sale: no more than what is left of
		// it (the rule book), before the card is read.
		if msg, _ := s.t.checks().CanActOn(s.kind(), true, s.orig, amount); msg != "" {
			s.message = msg
			return EvRefused, nil
		}
	}
	if !s.kind().Limited {
		return EvAmount, nil
	}
	// The binding's limits refuse a sale before it reaches the card.
	if msg, err := s.t.checks().Allow(checks.MethodOf(journal.Chip, false), amount); err != nil {
		s.message = msg
		s.t.log.Info("sale refused before the card", "err", err)
		return EvRefused, nil
	}
	return EvAmount, nil
}

// amountLimit is the most the amount screen takes for s paid by m, and why.
func (s *sale) amountLimit(m binding.Method) ui.Limit {
	return s.t.checks().AmountLimit(s.kind(), m, s.orig, s.t.cfg.MaxAmount)
}

func (s *sale) confirm(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ok, err := s.t.ui.Confirm(ctx, ui.ConfirmAmount, s.kind().Title, "金额 Amount:", ui.Money(s.amount))
	if err != nil || !ok {
		return EvCancel, panel.IgnoreCancel(err)
	}
	return EvConfirmed, nil
}

// waitCard asks for the card and takes the first way of presenting it that
// the sale accepts (firmware/terminal/cardwait): a card already in the slot
// when the prompt appears must come out and go in again.
func (s *sale) waitCard(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.CardTimeout)
	defer cancel()
	what := ui.Money(s.amount)
	if s.kind().NoAmount {
		what = s.kind().Title
	}
	p := cardwait.Prompt{Reader: s.t.dev.Reader, Panel: s.t.panel, Mode: s.cardMode, What: what, Log: s.t.log}
	e, err := p.Wait(ctx)
	var rf *cardwait.ReaderError
	switch {
	case errors.Is(err, cardwait.ErrCancelled):
		return EvCancel, nil
	case errors.Is(err, cardwait.ErrTimedOut):
		s.message = "等待超时 Timed out waiting for a card"
		return EvCancel, nil
	case errors.As(err, &rf):
		s.message = "读卡器故障 Card reader fault: call support"
		return EvFail, fmt.Errorf("terminal: card reader: %w", rf.Err)
	case err != nil:
		return EvFail, err
	}
	return s.cardEvent(ctx, e)
}

// cardEvent records how the card came.
func (s *sale) cardEvent(ctx context.Context, e hal.CardEvent) (Event, error) {
	s.event = e
	_ = s.t.dev.Indicator.Signal(ctx, hal.SignalCardRead)
	if e.Kind == hal.CardSwiped {
		s.method = journal.Stripe
		return EvSwipe, nil
	}
	s.method = journal.Chip
	if e.Kind == hal.CardTapped {
		s.method = journal.Contactless
	}
	return EvChip, nil
}

func (s *sale) txn() emv.Transaction {
	s.t.seq++
	return emv.Transaction{Type: emv.TxnType(s.kind().EMV), Amount: s.amount, Currency: s.t.cfg.Currency,
		Country: s.t.cfg.Country, Time: s.t.cfg.Now(), Sequence: s.t.seq}
}

func (s *sale) readChip(ctx context.Context) (Event, error) {
	if err := s.t.ui.Show(ctx, ui.ReadingCard, "读卡中 Reading card", "请勿拔卡 Do not remove the card"); err != nil {
		return EvFail, err
	}
	first, online, err := s.t.kernel.Start(ctx, s.event.Card, s.txn(), s.cardholder())
	s.first, s.online = first, online
	if err != nil {
		return s.refused(cardread.Chip(err, s.event.Kind, s.t.log))
	}
	switch first.Decision {
	case emv.GoOnline:
		s.request = s.chipRequest()
		return EvGoOnline, nil
	case emv.Approved:
		// Approved offline: journal it as completed before the receipt.
		return s.recordOffline(ctx)
	default:
		var onSlip string
		s.message, onSlip = slip.DeclineReason(first.TVR)
		// Nothing was sent or journaled: a printer fault only loses the slip.
		name, mid, tid := s.t.identity()
		if err := s.t.panel.PrintWhole(ctx, s.facts().DeclineSlip(name, mid, tid, onSlip)); err != nil {
			s.t.log.Warn("decline slip not printed", "err", err)
		}
		return EvDecline, nil
	}
}

// presentAgain are the events of the kernel's requests for another way of
// presenting the card.
var presentAgain = map[cardwait.Mode]Event{cardwait.InsertOnly: EvUseContact, cardwait.TapAgain: EvSeePhone, cardwait.Fallback: EvFallback}

// refused follows the kernel's refusal of the card (terminal/cardread).
func (s *sale) refused(r cardread.Refusal) (Event, error) {
	if r.Message != "" {
		s.message = r.Message
	}
	switch r.Next {
	case cardread.Cancel:
		return EvCancel, nil
	case cardread.Present:
		s.cardMode = r.Mode
		return presentAgain[r.Mode], nil
	}
	return EvFail, r.Err
}

func (s *sale) recordOffline(ctx context.Context) (Event, error) {
	if err := s.begin(); err != nil {
		return EvFail, err
	}
	s.final = emv.FinalResult{Decision: emv.Approved, Cryptogram: s.first.Cryptogram, CID: s.first.CID}
	_, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
		x.State, x.ResponseCode, x.AuthCode, x.TC = journal.Completed, "Y1", "Y1", hex.EncodeToString(s.first.Cryptogram)
	})
	if err != nil {
		return EvFail, err
	}
	s.t.advicesOwed = true // the host learns of it by the advice, right after
	return EvOfflineOK, nil
}

func (s *sale) entryMode() acquirer.EntryMode { return cardread.Entry(s.method, s.cardMode) }

func (s *sale) chipRequest() acquirer.Request {
	c := s.first.Card
	return acquirer.Request{Kind: hostKind(s.kind()), Amount: s.amount, Currency: s.t.cfg.Currency,
		PAN: c.PAN, Expiry: c.Expiry, PANSeq: c.PANSequence, Track2: c.Track2, Entry: s.entryMode(),
		PIN: s.first.PINBlock, ICCData: s.first.ICCData, OrigRRN: s.origRRN, OrigDate: s.origDate}
}

// readStripe reads a swiped card (terminal/cardread) and asks for its
// online PIN.
func (s *sale) readStripe(ctx context.Context) (Event, error) {
	sw, insertChip, err := cardread.Stripe(s.event.Track, s.cardMode)
	switch {
	case err != nil:
		s.message = "刷卡失败 Swipe again"
		return EvFail, err
	case insertChip:
		s.cardMode = cardwait.InsertChip
		return EvUseContact, nil
	}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	pin, err := s.cardholder().OnlinePIN(ctx, sw.PAN)
	if err != nil {
		if errors.Is(err, hal.ErrPINCancelled) {
			return EvCancel, nil
		}
		return EvFail, err
	}
	s.first.Card = emv.CardData{PAN: sw.PAN, Expiry: sw.Expiry}
	s.request = acquirer.Request{Kind: hostKind(s.kind()), Amount: s.amount, Currency: s.t.cfg.Currency,
		PAN: sw.PAN, Expiry: sw.Expiry, Track2: sw.Track2, Entry: sw.Entry, PIN: &pin, OrigRRN: s.origRRN, OrigDate: s.origDate}
	return EvGoOnline, nil
}

// begin allocates the trace number and journals the transaction as pending.
func (s *sale) begin() error {
	trace, err := s.t.journal.NextTrace()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	batch, err := s.t.journal.Batch()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	s.trace, s.batch, s.started = trace, batch, s.t.cfg.Now()
	c := s.first.Card
	return s.t.journal.Begin(journal.Txn{
		Trace: trace, Batch: batch, Kind: journal.Kind(s.kind().Name), Method: s.method, Amount: s.amount,
		Currency: s.t.cfg.Currency, MaskedPAN: s.maskedPAN(), Entry: int(s.entryMode()), OrigTrace: s.orig.Trace,
		AID: strings.ToUpper(hex.EncodeToString(c.AID)), AppLabel: c.Label, Signature: s.first.Signature,
		PINVerified: s.request.PIN != nil,
		Secret: journal.Sensitive{PAN: c.PAN.Digits(), Track2: s.request.Track2, ICCData: s.request.ICCData,
			Expiry: c.Expiry, PANSeq: c.PANSequence},
	})
}

func (s *sale) crash(point string) {
	if s.t.cfg.Crash != nil {
		s.t.cfg.Crash(point)
	}
}

func (s *sale) authorize(ctx context.Context) (Event, error) {
	return s.exchange(ctx, journal.Approved)
}

// exchange journals the request as pending, sends it and records the
// answer: approved becomes the state approved (for a card, which must still
// finish, journal.Approved); an answer that the payment is still open
// (a QR order) leaves it pending and returns EvPending.
func (s *sale) exchange(ctx context.Context, approved journal.State) (Event, error) {
	// Reversals owed from earlier go first: never two uncertain sales at once.
	if err := s.t.FlushReversals(ctx); err != nil {
		s.message = "冲正未完成 Reversal pending: check the network"
		s.resp.Code = "NS"
		return EvNotSent, err
	}
	if err := s.begin(); err != nil {
		s.message = "存储故障 Journal error: call support"
		return EvNotSent, err
	}
	s.crash("after-pending")
	s.request.Trace, s.request.Batch, s.request.Time = s.trace, s.batch, s.started
	_ = s.t.ui.Show(ctx, ui.Processing, "处理中 Processing", "连接银行 Contacting the bank")
	_ = s.t.dev.Indicator.Signal(ctx, hal.SignalBusy)
	hctx, cancel := s.withTimeout(ctx, s.t.cfg.HostTimeout)
	resp, err := s.t.host.Do(hctx, s.request)
	cancel()
	s.crash("after-host-answer")
	if err != nil {
		if errors.Is(err, acquirer.ErrNotSent) {
			if _, jerr := s.t.journal.Update(s.trace, func(x *journal.Txn) {
				x.State, x.Reason = journal.Declined, "not sent: "+err.Error()
			}); jerr != nil {
				return EvNoAnswer, errors.Join(err, jerr)
			}
			s.message = "网络不通 Cannot reach the bank: check the network"
			return EvNotSent, err
		}
		if s.kind().Reversal != txkind.Reverse {
			// Nothing moved (a balance inquiry): nothing to reverse.
			if _, jerr := s.t.journal.Update(s.trace, func(x *journal.Txn) {
				x.State, x.Reason = journal.Declined, "no answer: "+err.Error()
			}); jerr != nil {
				return EvNotSent, errors.Join(err, jerr)
			}
			s.message = "银行无应答 No answer from the bank: try again"
			return EvNotSent, err
		}
		if jerr := s.t.journal.QueueReversalCause(s.trace, uint8(acquirer.CauseOf(err)), "no answer: "+err.Error()); jerr != nil {
			return EvNoAnswer, errors.Join(err, jerr)
		}
		if s.t.keysRejected(err) {
			// New keys first, so that the reversal is understood.
			_ = s.t.signOnAgain(ctx)
		}
		s.message = "银行无应答 No answer from the bank: transaction reversed"
		return EvNoAnswer, err
	}
	s.resp = resp
	s.balance = resp.Balance
	if s.kind().Polls && resp.Code == qrpay.InProgress {
		// Open until the customer pays: still pending in the journal, so a
		// power cut now reverses it at the next boot.
		if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
			x.ResponseCode, x.HostTime = resp.Code, resp.HostTime
		}); err != nil {
			return EvNoAnswer, err
		}
		return EvPending, nil
	}
	next := journal.Declined
	if resp.Approved() {
		next = approved
	}
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
		x.State, x.ResponseCode, x.AuthCode, x.RRN, x.HostTime = next, resp.Code, resp.AuthCode, resp.RRN, resp.HostTime
	}); err != nil {
		return EvNoAnswer, err
	}
	s.crash("after-approved")
	if resp.Approved() {
		return EvHostApproved, nil
	}
	s.message = declineText(resp)
	s.t.afterHostRefusal(ctx, resp.Code)
	return EvDecline, nil
}

// declineText is what the merchant reads of the host's decline (terminal/outcome).
func declineText(r acquirer.Response) string { return outcome.DeclineText(r) }

func (s *sale) complete(ctx context.Context) (Event, error) {
	approved := s.resp.Approved()
	if s.online == nil { // a stripe sale has no card to finish
		if !approved {
			return EvDecline, nil
		}
		return s.afterCard(s.markCompleted(nil))
	}
	auth, scripts := cardread.IssuerData(s.resp.ICCData)
	final, err := s.online.Complete(ctx, emv.HostResponse{Answered: true, Approved: approved,
		ResponseCode: s.resp.Code, IssuerAuthData: auth, Scripts: scripts})
	s.final = final
	if err != nil || final.Reverse || (approved && final.Decision != emv.Approved) {
		if !approved {
			return EvDecline, nil
		}
		reason, cause := "card declined after approval", acquirer.CauseCardDeclined
		if err != nil {
			reason, cause = "card error after approval", acquirer.CauseTerminalFailure
		}
		if jerr := s.t.journal.QueueReversalCause(s.trace, uint8(cause), reason); jerr != nil {
			return EvCardRefused, errors.Join(err, jerr)
		}
		s.message = "卡片拒绝 Declined by card: transaction reversed"
		return EvCardRefused, err
	}
	if !approved {
		return EvDecline, nil
	}
	return s.afterCard(s.markCompleted(final.Cryptogram))
}

// afterCard sends a finished balance inquiry to its screen instead of the
// receipt.
func (s *sale) afterCard(ev Event, err error) (Event, error) {
	if ev == EvCardOK && s.kind() == txkind.Balance {
		return EvBalance, err
	}
	return ev, err
}

func (s *sale) markCompleted(tc []byte) (Event, error) {
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
		x.State = journal.Completed
		x.TC = strings.ToUpper(hex.EncodeToString(tc))
	}); err != nil {
		return EvCardRefused, err
	}
	return EvCardOK, nil
}

func (s *sale) reverseNow(ctx context.Context) (Event, error) {
	_ = s.t.ui.Show(ctx, ui.Reversing, "冲正中 Reversing", fmt.Sprintf("凭证号 Trace %06d", s.trace))
	if err := s.t.FlushReversals(ctx); err != nil {
		// It stays queued and goes before the next online transaction.
		return EvFail, err
	}
	return EvReversed, nil
}

func (s *sale) printReceipt(ctx context.Context) (Event, error) {
	_ = s.t.dev.Indicator.Signal(ctx, hal.SignalApproved)
	_ = s.t.ui.Show(ctx, ui.Printing, "交易成功 Approved", ui.Money(s.amount), "打印中 Printing")
	// What only the slip shows is journaled first, so a reprint is this slip.
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) { x.Slip = s.slipRecord() }); err != nil {
		s.t.log.Warn("slip data not journaled", "trace", s.trace, "err", err)
	}
	if err := slip.PrintCopies(ctx, s.t.panel, s.receipt(), s.t.cfg.TearOffTimeout); err != nil {
		// The sale stands; the receipt can be reprinted from the journal.
		s.t.log.Warn("receipt not printed", "trace", s.trace, "err", err)
		return EvPrinted, nil
	}
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) { x.Printed = true }); err != nil {
		return EvPrinted, err
	}
	return EvPrinted, nil
}

func (s *sale) waitRemoval(ctx context.Context) (Event, error) {
	s.awaitRemoval(ctx)
	return EvRemoved, nil
}

// awaitRemoval asks for the card back when one is in the slot, with the
// message of how the transaction ended.
func (s *sale) awaitRemoval(ctx context.Context) {
	if s.event.Kind != hal.CardInserted {
		return
	}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.RemoveTimeout)
	defer cancel()
	cardwait.AwaitRemoval(ctx, s.t.dev.Reader, s.t.panel, s.message)
}

// finish shows how the transaction ended.
func (s *sale) finish(ctx context.Context, state State, err error) {
	s.t.log.Info("transaction ended", "state", state, "trace", s.trace, "path", strings.Join(s.history, "; "))
	switch state {
	case StateApproved:
		lines := []string{ui.Money(s.amount)}
		if s.kind().NoAmount {
			lines = []string{"余额 Balance " + ui.Money(s.balance)}
		}
		outcome.Approved(ctx, s.t.panel, s.kind().Booked().Title, lines, s.resp.AuthCode, s.trace)
		return
	case StateRefused:
		outcome.Refused(ctx, s.t.panel, ScreenRefused, s.message, s.t.cfg.InputTimeout)
		return
	case StateDeclined:
		msg := s.message
		if msg == "" {
			msg = declineText(s.resp)
		}
		outcome.Show(ctx, s.t.panel, outcome.Declined, msg)
	case StateCancelled:
		outcome.Show(ctx, s.t.panel, outcome.Cancelled, s.message)
	case StateFailed:
		outcome.Show(ctx, s.t.panel, outcome.Failed, s.message)
	}
	s.awaitRemoval(ctx)
	// The outcome stays on the screen until the next key or a short pause.
}

// cardholder answers the kernel's questions for s through the screen and
// the PIN pad.
func (s *sale) cardholder() *cardholder.Cardholder {
	return &cardholder.Cardholder{Panel: s.t.panel, PINPad: s.t.dev.PINPad, Reader: s.t.dev.Reader, Keys: s.t.pin,
		Amount: s.amount, InSlot: s.event.Kind == hal.CardInserted, InputTimeout: s.t.cfg.InputTimeout}
}
