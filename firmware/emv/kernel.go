// Package emv is the terminal's EMV kernel, contact and contactless:
// application selection (PSE, PPSE, AID list), GPO, READ RECORD, offline
// data authentication (SDA, DDA, CDA, fDDA), processing restrictions,
// cardholder verification, terminal risk management, terminal action
// analysis, GENERATE AC, issuer authentication and issuer scripts, with the
// qPBOC, Visa and Mastercard contactless paths. Schemes are configured by
// data (AIDs, TACs, limits and CA keys in TOML parameter files). The
// decisions of the steps are pure functions in sub-packages (status, gpo,
// oda, restrict, cvm, risk, genac, issuerscript, contactless): the kernel
// keeps the session, the card's I/O and one method per step.
//
// It talks to a hal.Card it borrows for one transaction and asks the person
// at the terminal through the Cardholder interface. It knows nothing of
// ISO 8583, the acquirer, the journal, screens or how a PIN block is
// encrypted, and it never logs a PAN, track data or a PIN block.
package emv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// Option configures a Kernel.
type Option func(*Kernel)

// WithRandom sets the source of unpredictable numbers and random
// selection (crypto/rand by default).
func WithRandom(r io.Reader) Option { return func(k *Kernel) { k.rnd = r } }

// WithClock sets the clock used when a Transaction carries no time and for
// certificate expiry (time.Now by default).
func WithClock(now func() time.Time) Option { return func(k *Kernel) { k.now = now } }

// WithLogger sets the logger for step-level debug logs (discarded by
// default). Sensitive data never reaches it.
func WithLogger(l *slog.Logger) Option { return func(k *Kernel) { k.log = l } }

// Kernel runs EMV transactions with one configuration. It holds no state
// between transactions and may run one transaction per card concurrently.
type Kernel struct {
	cfg emvconfig.Config
	rnd io.Reader
	now func() time.Time
	log *slog.Logger
	// live is the configuration the next transaction starts with, shared
	// by every copy of the kernel: SetConfig replaces it, a running
	// transaction keeps the one it started with.
	live *atomic.Pointer[emvconfig.Config]
}

// NewKernel checks cfg and returns a kernel for it.
func NewKernel(cfg emvconfig.Config, opts ...Option) (*Kernel, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	k := &Kernel{cfg: cfg, rnd: rand.Reader, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(k)
	}
	live := k.cfg
	k.live = &atomic.Pointer[emvconfig.Config]{}
	k.live.Store(&live)
	return k, nil
}

// Config returns the kernel's configuration.
func (k *Kernel) Config() emvconfig.Config {
	if k.live != nil {
		return *k.live.Load()
	}
	return k.cfg
}

// SetConfig makes cfg (for instance the file configuration with a newly
// downloaded CA key set) the configuration of every transaction started
// from now on; one already running finishes with the one it started with.
func (k *Kernel) SetConfig(cfg emvconfig.Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	if k.live == nil {
		k.live = &atomic.Pointer[emvconfig.Config]{}
	}
	k.live.Store(&cfg)
	return nil
}

// snapshot is the kernel with the configuration current now.
func (k *Kernel) snapshot() *Kernel {
	if k.live == nil {
		return k
	}
	c := *k
	c.cfg = *k.live.Load()
	return &c
}

// onlineCapable reports whether the terminal type can go online.
func (k *Kernel) onlineCapable() bool {
	switch k.cfg.Terminal.Type & 0x0F {
	case 1, 2, 4, 5:
		return true
	}
	return false
}

// maxAmount is the largest amount tag 9F02 (12 digits) and tag 81 (four
// bytes) can both carry.
const maxAmount = 0xFFFFFFFF

// transmit sends one command to the card of the session and counts it.
func (s *session) transmit(ctx context.Context, name string, cmd []byte) (apdu.Response, error) {
	if err := ctx.Err(); err != nil {
		return apdu.Response{}, fmt.Errorf("emv: %s: %w", name, err)
	}
	s.apdus++
	return apdu.Transmit(ctx, s.card, s.k.log, name, cmd)
}

// Start runs a transaction up to the first GENERATE AC (for contactless,
// up to the card's cryptogram). Online is nil when the transaction is
// already decided. On error the FirstResult holds what was known so far
// (its Decision is TryOtherMeans for ErrFallback and ErrUseContact).
func (k *Kernel) Start(ctx context.Context, card hal.Card, txn Transaction, ch Cardholder) (FirstResult, Online, error) {
	if txn.Amount < 0 || txn.OtherAmount < 0 || txn.Amount > maxAmount || txn.OtherAmount > maxAmount {
		return FirstResult{Decision: Declined}, nil, fmt.Errorf("emv: amount out of range")
	}
	k = k.snapshot()
	s := k.newSession(card, txn, ch)
	res, on, err := s.run(ctx)
	if err != nil {
		res = s.firstResult(0)
		switch {
		case errors.Is(err, ErrUseContact):
			res.Decision = TryOtherMeans
			if ch != nil {
				ch.Notify(ctx, NoticeInsertCard)
			}
		case errors.Is(err, ErrFallback):
			res.Decision = TryOtherMeans
		default:
			res.Decision = Declined
		}
		s.k.log.Debug("emv: transaction ended", "err", err, "apdus", s.apdus)
		return res, nil, err
	}
	return res, on, nil
}

// session is one transaction's state.
type session struct {
	k     *Kernel
	card  hal.Card
	ch    Cardholder
	txn   Transaction
	iface hal.CardInterface

	aid  *emvconfig.AIDConfig // the terminal's entry for the selected application
	adf  []byte               // the selected ADF name
	term map[tlv.Tag][]byte
	icc  map[tlv.Tag][]byte

	tvr  status.TVR
	tsi  status.TSI
	cvmr [3]byte
	arc  []byte

	aip      [2]byte
	afl      []byte
	pdolData []byte
	oda      odaState

	cvm       CVM
	pinBlock  *hal.PINBlock
	signature bool

	cdol1Data []byte
	apdus     int
	removed   bool // contactless: the card was told it may go

	// signed holds each value as the terminal last sent it to the card in
	// a DOL the card computes its cryptogram over (PDOL, CDOL1, CDOL2):
	// field 55 must carry exactly what the cryptogram covered, even when
	// the terminal's own value (the TVR of a qPBOC/qVSDC tap, set after
	// the GPO) has moved on since.
	signed map[tlv.Tag][]byte
}

func (k *Kernel) newSession(card hal.Card, txn Transaction, ch Cardholder) *session {
	s := &session{k: k, card: card, ch: ch, txn: txn, iface: card.Interface(),
		term: map[tlv.Tag][]byte{}, icc: map[tlv.Tag][]byte{}}
	s.cvmr = [3]byte{0x3F, 0x00, 0x00}
	if s.txn.Time.IsZero() {
		s.txn.Time = k.now()
	}
	if s.txn.Currency == 0 {
		s.txn.Currency = k.cfg.Terminal.Currency
	}
	if s.txn.Country == 0 {
		s.txn.Country = k.cfg.Terminal.Country
	}
	s.initTerminalData()
	return s
}

func (s *session) initTerminalData() {
	tc := s.k.cfg.Terminal
	t := s.txn.Time
	s.term[0x9F02] = tlv.BCD(uint64(s.txn.Amount), 6)
	s.term[0x9F03] = tlv.BCD(uint64(s.txn.OtherAmount), 6)
	s.term[0x81] = be32(uint32(s.txn.Amount))
	s.term[0x9F04] = be32(uint32(s.txn.OtherAmount))
	s.term[0x5F2A] = tlv.BCD(uint64(s.txn.Currency), 2)
	s.term[0x5F36] = []byte{tc.CurrencyExponent}
	s.term[0x9F1A] = tlv.BCD(uint64(s.txn.Country), 2)
	s.term[0x9A] = tlv.BCD(uint64((t.Year()%100)*10000+int(t.Month())*100+t.Day()), 3)
	s.term[0x9F21] = tlv.BCD(uint64(t.Hour()*10000+t.Minute()*100+t.Second()), 3)
	s.term[0x9C] = []byte{byte(s.txn.Type)}
	s.term[0x9F41] = tlv.BCD(uint64(s.txn.Sequence), 4)
	s.term[0x9F33] = append([]byte(nil), tc.Capabilities[:]...)
	s.term[0x9F40] = append([]byte(nil), tc.AdditionalCapabilities[:]...)
	s.term[0x9F35] = []byte{tc.Type}
	s.term[0x9F1E] = []byte(tc.IFDSerial)
	s.term[0x9F15] = tlv.BCD(uint64(tc.MerchantCategory), 2)
	if tc.TerminalID != "" {
		s.term[0x9F1C] = []byte(tc.TerminalID)
	}
	if tc.MerchantID != "" {
		s.term[0x9F16] = []byte(tc.MerchantID)
	}
	entry := tc.POSEntryMode
	if s.iface == hal.Contactless {
		entry = 0x07
	}
	s.term[0x9F39] = []byte{entry}
}

// value returns the current value of a data element for a DOL: dynamic
// terminal data first, then terminal data, then card data.
func (s *session) value(t tlv.Tag) ([]byte, bool) {
	switch t {
	case 0x95:
		return s.tvr[:], true
	case 0x9B:
		return s.tsi[:], true
	case 0x9F34:
		return s.cvmr[:], true
	case 0x8A:
		return s.arc, s.arc != nil
	}
	if v, ok := s.term[t]; ok {
		return v, true
	}
	v, ok := s.icc[t]
	return v, ok
}

// run is the transaction: each step is its own method, called in the order
// of EMV Book 3 (contact) or of the contactless kernel chosen.
func (s *session) run(ctx context.Context) (FirstResult, Online, error) {
	if s.ch != nil {
		s.ch.Notify(ctx, NoticeProcessing)
	}
	if err := s.selectAndInitiate(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	if s.iface == hal.Contactless && (s.aid.Kind == emvconfig.KindQPBOC || s.aid.Kind == emvconfig.KindVisa) {
		return s.runQuick(ctx)
	}
	if err := s.readRecords(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	if err := s.checkMandatory(); err != nil {
		return FirstResult{}, nil, err
	}
	if err := s.offlineDataAuthentication(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	s.processingRestrictions()
	if err := s.cardholderVerification(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	if err := s.terminalRiskManagement(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	want := s.terminalActionAnalysis()
	return s.firstGenerateAC(ctx, want)
}

// firstResult builds the FirstResult from the session.
func (s *session) firstResult(d Decision) FirstResult {
	r := FirstResult{
		Decision:   d,
		Card:       s.cardData(),
		CVM:        s.cvm,
		PINBlock:   s.pinBlock,
		Signature:  s.signature,
		Cryptogram: clone(s.icc[0x9F26]),
		ATC:        clone(s.icc[0x9F36]),
		TVR:        s.tvr,
		TSI:        s.tsi,
	}
	if c := s.icc[0x9F27]; len(c) == 1 {
		r.CID = c[0]
	}
	if d != 0 {
		r.ICCData = s.iccData()
	}
	return r
}

// field55Tags is the tag set sent to the host with an authorization, in
// order; tags the transaction does not have are left out. Read-only.
var field55Tags = []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
	0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x9F63}

// Field55Tags returns the tags of the ICC data sent with an authorization.
func Field55Tags() []tlv.Tag { return append([]tlv.Tag(nil), field55Tags...) }

func (s *session) iccData() []byte {
	var out []byte
	for _, t := range field55Tags {
		v, ok := s.value(t)
		if sv, sent := s.signed[t]; sent {
			v, ok = sv, true
		}
		if t == 0x84 && s.adf != nil {
			v, ok = s.adf, true
		}
		if !ok {
			continue
		}
		out = tlv.Append(out, t, v)
	}
	return out
}

// sent records the values of DOL data the terminal sends to the card.
func (s *session) sent(dol tlv.DOL, data []byte) {
	if s.signed == nil {
		s.signed = map[tlv.Tag][]byte{}
	}
	for _, e := range dol {
		if len(data) < e.Length {
			return
		}
		s.signed[e.Tag] = clone(data[:e.Length])
		data = data[e.Length:]
	}
}

// cardData collects what the terminal needs from the card for the host
// and the receipt.
func (s *session) cardData() CardData {
	cd := CardData{AID: clone(s.adf), Interface: s.iface}
	if v := s.icc[0x5A]; v != nil {
		if p, err := hal.ParsePAN(tlv.CNDigits(v)); err == nil {
			cd.PAN = p
		}
	}
	tr := s.icc[0x57]
	if tr == nil {
		tr = s.icc[0x9F6B]
	}
	if tr != nil {
		cd.Track2 = clone(tr)
		if cd.PAN.IsZero() {
			if p, err := hal.ParsePAN(tlv.Track2PAN(tr)); err == nil {
				cd.PAN = p
			}
		}
	}
	if v := s.icc[0x5F34]; len(v) == 1 {
		cd.PANSequence = fmt.Sprintf("%02X", v[0])
	}
	if v := s.icc[0x5F24]; len(v) == 3 {
		cd.Expiry = fmt.Sprintf("%02X%02X", v[0], v[1])
	} else if exp := tlv.Track2Expiry(tr); exp != "" {
		cd.Expiry = exp
	}
	if v := s.icc[0x50]; v != nil {
		cd.Label = tlv.Printable(v)
	} else if s.aid != nil {
		cd.Label = s.aid.Label
	}
	return cd
}
