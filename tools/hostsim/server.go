package hostsim

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/keys"
)

// Config is how a host simulator is built.
type Config struct {
	// DataDir holds issuers.toml, cards.toml and terminals.toml; read when
	// Data is nil.
	DataDir string
	// Data is the parsed data, for tests that build their own.
	Data *Data
	// CAKeys are the CA public keys the host hands out in a CA-key download.
	CAKeys []CAKey
	// ICParams are the IC card parameters (one per AID) the host hands out
	// in an IC parameter download (icparams.go).
	ICParams []acquirer.ICParams
	// Now is the host's clock (time.Now when nil).
	Now func() time.Time
	// Logger receives one line per message, PANs masked (discarded when nil).
	Logger *slog.Logger
	// Rand is the source of working keys, TMKs, one-time codes and
	// authorization codes (crypto/rand when nil).
	Rand io.Reader
	// IdleTimeout closes a connection that sends nothing (60 s when zero).
	IdleTimeout time.Duration
	// OTPTries is how many wrong one-time codes lock an activation (3 when zero).
	OTPTries int
	// OTPValidity is how long a one-time code is good (5 minutes when zero).
	OTPValidity time.Duration
}

// Server is the acquirer host simulator. It is safe for concurrent use; each
// connection is served on its own goroutine.
type Server struct {
	cfg     Config
	codec   *acquirer.Codec
	smCodec *acquirer.Codec // SM mode: field 52 of 16 bytes (sm.go)
	log     *slog.Logger
	data    *Data

	mu          sync.Mutex
	terms       map[string]*termState // by TID
	bySerial    map[string]*termState
	accounts    map[string]*account // by PAN digits
	txns        map[txnKey]*txn
	byRRN       map[string]*txn
	records     []*Record
	faults      []Fault
	uploads     map[batchKey][]Record
	qrOrders    map[batchTrace]*txn
	seq         uint32
	reversedKey map[txnKey]bool // reversals whose original never arrived
	requirement map[string]int  // by TID: processing requirement for the next answer

	// issuerAuthFailures counts authorizations declined for a cryptogram
	// that did not verify (issuer.go).
	issuerAuthFailures int
}

type txnKey struct {
	tid   string
	batch uint32
	trace uint32
}

type batchKey struct {
	tid   string
	batch uint32
}

type batchTrace = txnKey

// termState is a terminal as the host holds it.
type termState struct {
	rec     Terminal
	alg     keys.Algorithm
	tmk     []byte
	pinKey  []byte
	macKey  []byte
	dataKey []byte
	act     *activation
	bound   bool
	// kcodeUsed: the K code has bound this terminal and binds no more;
	// confirmed is that answer, repeated for the same one-time code.
	kcodeUsed    bool
	confirmed    []byte
	confirmedOTP string
}

// account is a card account.
type account struct {
	card      Card
	available int64 // balance or open credit, fen
	pinTries  int
}

// New builds a host simulator from its data.
func New(cfg Config) (*Server, error) {
	d := cfg.Data
	if d == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("hostsim: no data: set Config.DataDir or Config.Data")
		}
		var err error
		if d, err = LoadData(cfg.DataDir); err != nil {
			return nil, err
		}
	} else if err := d.check(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.OTPTries <= 0 {
		cfg.OTPTries = 3
	}
	if cfg.OTPValidity <= 0 {
		cfg.OTPValidity = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, codec: acquirer.NewCodec(), smCodec: acquirer.NewSMCodec(), log: log, data: d,
		terms: map[string]*termState{}, bySerial: map[string]*termState{}, accounts: map[string]*account{},
		txns: map[txnKey]*txn{}, byRRN: map[string]*txn{}, uploads: map[batchKey][]Record{},
		qrOrders: map[batchTrace]*txn{}, reversedKey: map[txnKey]bool{}, requirement: map[string]int{}}
	for _, t := range d.Terminals {
		ts := &termState{rec: t, alg: keys.AlgTDES}
		if strings.EqualFold(t.Algorithm, "SM4") {
			ts.alg = keys.AlgSM4
		}
		if t.TMK != "" {
			ts.tmk, _ = hex.DecodeString(t.TMK)
			ts.bound = true
		}
		s.terms[t.TID] = ts
		if t.Serial != "" {
			s.bySerial[t.Serial] = ts
		}
	}
	for _, c := range d.Cards {
		s.accounts[c.PAN] = &account{card: c, available: c.Balance}
	}
	return s, nil
}

// Serve accepts connections on ln until ctx ends or ln fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hostsim: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ServeConn(ctx, conn)
		}()
	}
}

// ServeConn serves one connection (a TCP connection or one end of an
// in-process pipe) until the peer closes it, it stays idle past
// IdleTimeout, or ctx ends. It closes conn.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	// One read takes in a whole request (prefix and body) where the
	// terminal wrote it at once; what is read ahead stays for the next
	// frame on a kept connection.
	in := bufio.NewReader(conn)
	for ctx.Err() == nil {
		if err := conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return
		}
		fr, err := acquirer.ReadFrame(in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("hostsim read", "err", err)
			}
			return
		}
		out, act := s.handle(fr)
		if !s.deliver(ctx, conn, out, act) {
			return
		}
	}
}

// deliver writes the answer as the fault (if any) dictates. It reports
// whether the connection stays open.
func (s *Server) deliver(ctx context.Context, conn net.Conn, out []byte, act delivery) bool {
	switch act.kind {
	case deliverSilent:
		// Keep the connection open and say nothing until the terminal gives up.
		buf := make([]byte, 1)
		conn.SetReadDeadline(time.Time{})
		_, _ = conn.Read(buf)
		return false
	case deliverDrop:
		return false
	}
	if act.delay > 0 {
		t := time.NewTimer(act.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	if out == nil {
		return false
	}
	if err := conn.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
		return false
	}
	if _, err := conn.Write(out); err != nil {
		return false
	}
	return true
}

// handle processes one request frame and returns the answer's bytes (with
// length prefix) and how to deliver them.
func (s *Server) handle(fr acquirer.Frame) ([]byte, delivery) {
	m, err := s.unpackRequest(fr.Body)
	if err != nil {
		s.log.Info("hostsim: unreadable message", "err", err)
		return nil, delivery{kind: deliverDrop}
	}
	mti, _ := m.GetMTI()
	fault, hasFault := s.takeFault(mti)
	if hasFault && fault.Kind == FaultDrop {
		// The line drops before the host sees the request.
		s.log.Info("hostsim: fault", "fault", fault.String())
		s.record(Record{Type: "fault", MTI: mti, Note: fault.String()})
		return nil, delivery{kind: deliverDrop}
	}
	ans, tk, err := s.dispatch(mti, m, fr.Body)
	if err != nil {
		s.log.Info("hostsim: cannot answer", "mti", mti, "err", err)
		return nil, delivery{kind: deliverDrop}
	}
	if ans == nil { // deliberately no answer (amount trigger 99)
		return nil, delivery{kind: deliverSilent}
	}
	hdr := fr.Header.WithRequirement(s.takeRequirement(acquirer.FieldString(m, 41)))
	if hasFault {
		switch fault.Kind {
		case FaultDropAfter, FaultNoAnswer, FaultGarbage:
			if trace, err := strconv.ParseUint(acquirer.FieldString(m, 11), 10, 32); err == nil {
				s.markUnanswered(acquirer.FieldString(m, 41), uint32(trace))
			}
		}
		return s.applyFault(fault, fr, hdr, ans, tk)
	}
	body, err := s.pack(ans, tk)
	if err != nil {
		s.log.Info("hostsim: cannot pack answer", "mti", mti, "err", err)
		return nil, delivery{kind: deliverDrop}
	}
	return frameBytes(acquirer.Frame{TPDU: fr.TPDU.Reply(), Header: hdr, Body: body}), delivery{}
}

// pack packs an answer, with a MAC when the terminal has a MAC key and the
// answer carries field 64 in its family.
func (s *Server) pack(ans *answer, tk *termState) ([]byte, error) {
	if ans.mac && tk != nil {
		s.mu.Lock()
		key, alg := tk.macKey, tk.alg
		s.mu.Unlock()
		if key != nil {
			return s.codec.Pack(ans.msg, hostMAC{key: key, alg: alg})
		}
	}
	return s.codec.Pack(ans.msg, nil)
}

func frameBytes(f acquirer.Frame) []byte {
	raw := f.Bytes()
	out := make([]byte, 2, 2+len(raw))
	out[0], out[1] = byte(len(raw)>>8), byte(len(raw))
	return append(out, raw...)
}

// answer is a response message and whether it carries a MAC.
type answer struct {
	msg *iso8583.Message
	mac bool
}

// hostMAC MACs with one terminal's MAC key.
type hostMAC struct {
	key []byte
	alg keys.Algorithm
}

// MAC computes field 64 over a MAC block.
func (h hostMAC) MAC(mab []byte) ([]byte, error) {
	var sum [8]byte
	var err error
	if h.alg == keys.AlgSM4 {
		sum, err = keys.MACSM4ECB(h.key, mab)
	} else {
		sum, err = keys.MACUnionPayECB(h.key, mab)
	}
	if err != nil {
		return nil, err
	}
	return sum[:], nil
}

// VerifyMAC checks field 64 in constant time.
func (h hostMAC) VerifyMAC(mab, mac []byte) error {
	want, err := h.MAC(mab)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, mac) != 1 {
		return keys.ErrMAC
	}
	return nil
}

// dispatch routes a request by MTI.
func (s *Server) dispatch(mti string, m *iso8583.Message, body []byte) (*answer, *termState, error) {
	switch mti {
	case "0800":
		return s.networkManagement(m)
	case "0820":
		return s.statusUpload(m)
	case "0100", "0200", "0220", "0620":
		return s.financial(m, body)
	case "0400":
		return s.reversal(m, body)
	case "0500":
		return s.settlement(m, body)
	case "0320":
		return s.batchUpload(m, body)
	}
	a, err := s.reply(m, "12")
	return a, nil, err
}

// reply builds a bare answer to m with response code code and no MAC.
func (s *Server) reply(m *iso8583.Message, code string) (*answer, error) {
	msg, err := acquirer.BuildResponse(s.codec, m, acquirer.Response{Code: code}, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	return &answer{msg: msg}, nil
}

// random fills n bytes from the configured source.
func (s *Server) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return nil, fmt.Errorf("hostsim: random: %w", err)
	}
	return b, nil
}

// randomDigits returns n decimal digits.
func (s *Server) randomDigits(n int) (string, error) {
	b, err := s.random(n)
	if err != nil {
		return "", err
	}
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b), nil
}

// Require sets the processing requirement (acquirer.RequireSignOn,
// RequireParameters, RequireCAKeys...) of the next answer to terminal tid,
// as a host does to ask for a new sign-on or a download.
func (s *Server) Require(tid string, requirement int) {
	s.mu.Lock()
	s.requirement[tid] = requirement
	s.mu.Unlock()
}

func (s *Server) takeRequirement(tid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requirement[tid]
	if !ok {
		return acquirer.RequireNone
	}
	delete(s.requirement, tid)
	return r
}

// Totals returns the host's settlement totals of a terminal's batch:
// domestic (UnionPay cards and QR) and foreign cards.
func (s *Server) Totals(tid string, batch uint32) (domestic, foreign acquirer.Totals) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostTotals(tid, batch)
}
