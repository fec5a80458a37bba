package cardsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/hal"
)

// ErrNoChip reports a profile without EMV applications (a stripe-only card).
var ErrNoChip = errors.New("cardsim: the card has no chip")

// ErrInterface reports a card used on an interface its profile lacks.
var ErrInterface = errors.New("cardsim: the card does not support this interface")

// Card is a simulated EMV card. Its counters (ATC, PIN tries) and blocks
// persist for the life of the value, across resets and interfaces, as a
// real card's do. It is safe for concurrent use; commands are answered one
// at a time.
type Card struct {
	p *Profile

	mu          sync.Mutex
	iface       hal.CardInterface
	atc         uint16
	latc        uint16
	pinTries    int
	appBlocked  map[string]bool
	cardBlocked bool
	seenPhone   bool
	putData     map[tlv.Tag][]byte
	selName     []byte // last SELECT name, for "next occurrence"
	selIdx      int
	tx          txState
	commands    int
	// offlineAmount and offlineCount are the Mastercard CVN 17 counters.
	offlineAmount int64
	offlineCount  byte
	latency       time.Duration
}

// txState is what the card remembers during one transaction; a reset or a
// SELECT clears it.
type txState struct {
	dir        bool // the PSE is selected
	app        *App
	path       *Path
	gpo        bool
	pdolData   []byte
	cdol1Data  []byte
	acCount    int
	firstCID   byte
	ac         [8]byte
	sk         []byte
	iad        []byte
	pinOK      bool
	issuerAuth int // 0 not performed, 1 passed, -1 failed
	extAuth    bool
}

var _ hal.Card = (*Card)(nil)

// New returns a card built from p, powered on iface.
func New(p *Profile, iface hal.CardInterface) (*Card, error) {
	if !p.HasChip() {
		return nil, ErrNoChip
	}
	if !p.Supports(iface) {
		return nil, fmt.Errorf("%w: %v", ErrInterface, iface)
	}
	return &Card{
		p: p, iface: iface, atc: p.ATC, pinTries: p.PINTries,
		appBlocked: map[string]bool{}, putData: map[tlv.Tag][]byte{},
	}, nil
}

// Profile returns the card's profile.
func (c *Card) Profile() *Profile { return c.p }

// ATR returns the answer to reset for the current interface.
func (c *Card) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atr()
}

func (c *Card) atr() []byte {
	if c.iface == hal.Contactless {
		return bytes.Clone(c.p.ATRCL)
	}
	return bytes.Clone(c.p.ATR)
}

// Interface says whether the card is inserted or tapped.
func (c *Card) Interface() hal.CardInterface {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.iface
}

// Reset powers the card up again: the transaction state is cleared, the
// counters stay. It returns the ATR.
func (c *Card) Reset() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tx = txState{}
	c.selName = nil
	return c.atr()
}

// Present moves the card to interface iface (insert after a tap, or the
// reverse) and resets it.
func (c *Card) Present(iface hal.CardInterface) error {
	if !c.p.Supports(iface) {
		return fmt.Errorf("%w: %v", ErrInterface, iface)
	}
	c.mu.Lock()
	c.iface = iface
	c.mu.Unlock()
	c.Reset()
	return nil
}

// ATC returns the application transaction counter.
func (c *Card) ATC() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}

// PINTries returns the offline PIN tries left.
func (c *Card) PINTries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinTries
}

// Commands returns how many command APDUs the card has answered.
func (c *Card) Commands() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commands
}

// SetLatency makes every later answer take d, like a card that needs that
// long per APDU (for card-in-field timing); zero answers at once.
func (c *Card) SetLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = d
}

// Transmit answers one command APDU with response data and SW1 SW2.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	d := c.latency
	c.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return c.handleLocked(apdu), nil
}

// handleLocked answers one command under the card's lock.
func (c *Card) handleLocked(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands++
	return c.handle(apdu)
}

// handle dispatches one command. It never panics on any input (see
// FuzzTransmit) and always returns at least a status word.
func (c *Card) handle(apdu []byte) []byte {
	cmd, err := parseCommand(apdu)
	if err != nil {
		return swWrongLength
	}
	proprietary := cmd.cla == 0x80
	secure := cmd.cla == 0x84 || cmd.cla == 0x04
	if cmd.cla != 0x00 && !proprietary && !secure {
		return swCLANotSupported
	}
	switch {
	case cmd.ins == 0xA4 && cmd.cla == 0x00:
		return c.selectFile(cmd)
	case cmd.ins == 0xB2 && cmd.cla == 0x00:
		return c.readRecord(cmd)
	case cmd.ins == 0x88 && cmd.cla == 0x00:
		return c.internalAuthenticate(cmd)
	case cmd.ins == 0x20 && cmd.cla == 0x00:
		return c.verify(cmd)
	case cmd.ins == 0x84 && cmd.cla == 0x00:
		return c.getChallenge(cmd)
	case cmd.ins == 0x82 && cmd.cla == 0x00:
		return c.externalAuthenticate(cmd)
	case cmd.ins == 0xA8 && proprietary:
		return c.getProcessingOptions(cmd)
	case cmd.ins == 0xCA && proprietary:
		return c.getData(cmd)
	case cmd.ins == 0xAE && proprietary:
		return c.generateAC(cmd)
	case secure:
		return c.script(cmd)
	case cmd.ins == 0xA8, cmd.ins == 0xCA, cmd.ins == 0xAE:
		return swCLANotSupported
	}
	return swINSNotSupported
}

// apps returns the applications usable on the current interface.
func (c *Card) apps() []*App {
	var out []*App
	for _, a := range c.p.Apps {
		if c.iface == hal.Contactless && a.CL == nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (c *Card) path(a *App) *Path {
	if c.iface == hal.Contactless {
		return a.CL
	}
	return a.Contact
}

func (c *Card) blocked(a *App) bool {
	return c.p.Behaviour.Blocked || c.appBlocked[string(a.AID)]
}

var (
	pseName  = []byte("1PAY.SYS.DDF01")
	ppseName = []byte("2PAY.SYS.DDF01")
)

func ok(data []byte) []byte { return append(data, swOK...) }

func (c *Card) selectFile(cmd command) []byte {
	if cmd.p1 != 0x04 || (cmd.p2 != 0x00 && cmd.p2 != 0x02) {
		return swWrongP1P2
	}
	if c.cardBlocked || c.p.Behaviour.CardBlocked {
		return swFuncNotSupp
	}
	name := cmd.data
	c.tx = txState{}
	switch {
	case len(name) == 0:
		return swNotFound
	case bytes.Equal(name, pseName):
		if c.iface != hal.Contact {
			return swNotFound
		}
		c.tx.dir = true
		fci := tlv.Encode(0x84, pseName)
		fci = tlv.Append(fci, 0xA5, append(tlv.Encode(0x88, []byte{0x01}), tlv.Encode(0x5F2D, []byte("zhen"))...))
		return ok(tlv.Encode(0x6F, fci))
	case bytes.Equal(name, ppseName):
		if c.iface != hal.Contactless {
			return swNotFound
		}
		var dir []byte
		for _, a := range c.apps() {
			dir = tlv.Append(dir, 0x61, c.dirEntry(a))
		}
		fci := tlv.Encode(0x84, ppseName)
		fci = tlv.Append(fci, 0xA5, tlv.Encode(0xBF0C, dir))
		return ok(tlv.Encode(0x6F, fci))
	}
	start := 0
	if cmd.p2 == 0x02 && bytes.Equal(name, c.selName) {
		start = c.selIdx + 1
	}
	apps := c.apps()
	for i := start; i < len(apps); i++ {
		a := apps[i]
		if !bytes.HasPrefix(a.AID, name) {
			continue
		}
		c.selName, c.selIdx = bytes.Clone(name), i
		c.tx.app, c.tx.path = a, c.path(a)
		prop := tlv.Encode(0x50, []byte(a.Label))
		if a.Priority > 0 {
			prop = tlv.Append(prop, 0x87, []byte{byte(a.Priority)})
		}
		if len(c.tx.path.rawPDOL) > 0 {
			prop = tlv.Append(prop, 0x9F38, c.tx.path.rawPDOL)
		}
		prop = append(prop, a.FCI...)
		fci := tlv.Encode(0x84, a.AID)
		fci = tlv.Append(fci, 0xA5, prop)
		resp := tlv.Encode(0x6F, fci)
		if c.blocked(a) {
			return append(resp, swSelectedBlocked...)
		}
		return ok(resp)
	}
	c.selName = nil
	return swNotFound
}

// dirEntry is the directory entry (inside tag 61) of a in the PSE or PPSE.
func (c *Card) dirEntry(a *App) []byte {
	e := tlv.Encode(0x4F, a.AID)
	e = tlv.Append(e, 0x50, []byte(a.Label))
	if a.Priority > 0 {
		e = tlv.Append(e, 0x87, []byte{byte(a.Priority)})
	}
	if c.iface == hal.Contactless {
		kid := map[string]byte{"mchip": 0x02, "qvsdc": 0x03, "qpboc": 0x07}[a.CL.Kernel]
		e = tlv.Append(e, 0x9F2A, []byte{kid})
	}
	return e
}

func (c *Card) readRecord(cmd command) []byte {
	if cmd.p2&0x07 != 0x04 || cmd.p1 == 0 {
		return swWrongP1P2
	}
	sfi, rec := cmd.p2>>3, cmd.p1
	if c.tx.dir {
		apps := c.apps()
		if sfi != 1 || int(rec) > len(apps) {
			return swRecordNotFound
		}
		return ok(tlv.Encode(0x70, tlv.Encode(0x61, c.dirEntry(apps[rec-1]))))
	}
	if c.tx.app == nil {
		return swConditions
	}
	r, found := c.tx.app.Records[recordID{sfi, rec}]
	if !found {
		return swRecordNotFound
	}
	return ok(bytes.Clone(r))
}

func (c *Card) getData(cmd command) []byte {
	t := tlv.Tag(cmd.p2)
	if cmd.p1 != 0 {
		t = tlv.Tag(cmd.p1)<<8 | tlv.Tag(cmd.p2)
	}
	var v []byte
	switch t {
	case 0x9F36:
		v = binary.BigEndian.AppendUint16(nil, c.atc)
	case 0x9F13:
		v = binary.BigEndian.AppendUint16(nil, c.latc)
	case 0x9F17:
		if c.p.PIN == "" {
			return swDataNotFound
		}
		v = []byte{byte(c.pinTries)}
	case 0x9F4F:
		v = c.p.LogFormat
	default:
		v = c.putData[t]
	}
	if v == nil {
		return swDataNotFound
	}
	return ok(tlv.Encode(t, v))
}

func (c *Card) getChallenge(cmd command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swWrongP1P2
	}
	if len(cmd.data) != 0 {
		return swWrongLength
	}
	return ok(random(8))
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func (c *Card) verify(cmd command) []byte {
	if cmd.p1 != 0 {
		return swWrongP1P2
	}
	if c.p.PIN == "" {
		return swINSNotSupported
	}
	if cmd.p2 != 0x80 {
		return swWrongP1P2 // only plaintext offline PIN is personalised
	}
	if len(cmd.data) == 0 {
		return []byte{0x63, 0xC0 | byte(c.pinTries)}
	}
	if c.tx.app == nil {
		return swConditions
	}
	if c.pinTries == 0 {
		return swAuthBlocked
	}
	pin, good := plainPIN(cmd.data)
	if !good {
		return swWrongData
	}
	if pin != c.p.PIN {
		c.pinTries--
		return []byte{0x63, 0xC0 | byte(c.pinTries)}
	}
	c.pinTries = c.p.PINTries
	c.tx.pinOK = true
	return swOK
}

// plainPIN decodes an ISO 9564 format 2 plaintext PIN block (2N PIN F…F).
func plainPIN(b []byte) (string, bool) {
	if len(b) != 8 || b[0]>>4 != 2 {
		return "", false
	}
	n := int(b[0] & 0x0F)
	if n < 4 || n > 12 {
		return "", false
	}
	pin := make([]byte, 0, n)
	for i := 0; i < 14; i++ {
		d := b[1+i/2] >> 4
		if i%2 == 1 {
			d = b[1+i/2] & 0x0F
		}
		switch {
		case i < n && d <= 9:
			pin = append(pin, '0'+d)
		case i >= n && d == 0x0F:
		default:
			return "", false
		}
	}
	return string(pin), true
}

func (c *Card) getProcessingOptions(cmd command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swWrongP1P2
	}
	if c.tx.app == nil || c.tx.gpo || c.blocked(c.tx.app) {
		return swConditions
	}
	o, err := tlv.ParseOne(cmd.data)
	if err != nil || o.Tag != 0x83 {
		return swWrongData
	}
	if len(o.Value) != c.tx.path.PDOL.Len() {
		return swWrongLength
	}
	kernel := c.tx.path.Kernel
	quick := c.iface == hal.Contactless && (kernel == "qpboc" || kernel == "qvsdc")
	if quick && c.p.Behaviour.SeePhone && !c.seenPhone {
		c.seenPhone = true
		return swConditionsOfUse
	}
	if c.atc == 0xFFFF {
		return swConditions
	}
	c.atc++
	c.tx.gpo = true
	c.tx.pdolData = bytes.Clone(o.Value)
	c.tx.iad = bytes.Clone(c.tx.app.IAD)
	if quick {
		return c.quickGPO()
	}
	aip, afl := c.tx.path.AIP[:], c.tx.path.AFL
	if c.tx.app.Format == 1 {
		return ok(tlv.Encode(0x80, append(bytes.Clone(aip), afl...)))
	}
	body := tlv.Encode(0x82, aip)
	body = tlv.Append(body, 0x94, afl)
	return ok(tlv.Encode(0x77, body))
}

// dolValues splits DOL data into the values the DOL names.
func dolValues(dol tlv.DOL, data []byte) map[tlv.Tag][]byte {
	m := map[tlv.Tag][]byte{}
	for _, e := range dol {
		if len(data) < e.Length {
			break
		}
		m[e.Tag] = data[:e.Length]
		data = data[e.Length:]
	}
	return m
}

// The cryptogram types, as in the CID.
const (
	cidAAC  byte = 0x00
	cidTC   byte = 0x40
	cidARQC byte = 0x80
)

// cvrBits returns the CVR bytes after the length byte of the four-byte form.
func cvrBits(cvr []byte) []byte {
	if len(cvr) == 4 {
		return cvr[1:]
	}
	return cvr
}

// setCVR sets the CVR bits the simulator keeps (docs/cardsim.md).
func (c *Card) setCVR(second bool, cid byte) {
	b := cvrBits(c.tx.app.Version.CVR(c.tx.iad))
	if c.iface == hal.Contactless && c.tx.path.Kernel != "mchip" {
		b[1] |= 0x01
	}
	t := cid >> 6 // 0 AAC, 1 TC, 2 ARQC
	if second {
		b[0] = b[0]&^0xC0 | t<<6
	} else {
		b[0] = b[0]&^0x30 | t<<4
	}
	if c.tx.pinOK {
		b[0] |= 0x04
	}
	if c.tx.issuerAuth < 0 {
		b[1] |= 0x80
	}
}

// cryptogram computes the AC of type cid: the CVR and, for Mastercard
// CVN 17, the counters are brought up to date in the IAD first.
func (c *Card) cryptogram(cid byte, second bool, vals ...map[tlv.Tag][]byte) ([8]byte, error) {
	c.setCVR(second, cid)
	if c.tx.app.Version == emvcrypto.MastercardCVN17 {
		c.updateCounters(cid, second, vals...)
		copy(c.tx.app.Version.Counters(c.tx.iad), c.counters())
	}
	return c.ac(vals...)
}

// updateCounters keeps the M/Chip offline counters of a CVN 17 card: an
// offline approval (TC at the first GENERATE AC) adds its amount to the
// accumulator and counts one more consecutive offline transaction; an
// online approval whose ARPC verified resets both.
func (c *Card) updateCounters(cid byte, second bool, vals ...map[tlv.Tag][]byte) {
	switch {
	case !second && cid == cidTC:
		c.offlineAmount += bcdAmount(lookup(0x9F02, 6, vals...))
		if c.offlineCount < 0xFF {
			c.offlineCount++
		}
	case second && cid == cidTC && c.tx.issuerAuth == 1:
		c.offlineAmount, c.offlineCount = 0, 0
	}
}

// counters is the counters field of a CVN 17 IAD as this card lays it
// out: the offline accumulator (n 12), the consecutive offline count, FF.
func (c *Card) counters() []byte {
	out := make([]byte, 0, 8)
	v := c.offlineAmount
	if v < 0 || v > 999999999999 {
		v = 999999999999
	}
	digits := fmt.Sprintf("%012d", v)
	b, _ := hexDigits(digits)
	out = append(out, b...)
	return append(out, c.offlineCount, 0xFF)
}

func (c *Card) quickGPO() []byte {
	path := c.tx.path
	vals := dolValues(path.PDOL, c.tx.pdolData)
	cid := cidARQC
	ttq := vals[0x9F66]
	b := c.p.Behaviour
	switch {
	case b.Decline:
		cid = cidAAC
	case b.OfflineApprove && len(ttq) == 4 && ttq[1]&0x80 == 0 && bcdAmount(vals[0x9F02]) <= b.OfflineLimit:
		cid = cidTC
	}
	ac, err := c.cryptogram(cid, false, vals)
	if err != nil {
		return swConditions
	}
	c.tx.acCount, c.tx.firstCID, c.tx.ac = 1, cid, ac
	body := tlv.Encode(0x82, path.AIP[:])
	body = tlv.Append(body, 0x94, path.AFL)
	body = tlv.Append(body, 0x9F36, binary.BigEndian.AppendUint16(nil, c.atc))
	body = tlv.Append(body, 0x9F26, ac[:])
	body = tlv.Append(body, 0x9F27, []byte{cid})
	body = tlv.Append(body, 0x9F10, c.tx.iad)
	// Track 2 and the PSN come with the GPO unless the records carry them
	// (a tag may reach the terminal only once).
	if !c.tx.app.recordsHave(path.AFL, 0x57) {
		body = tlv.Append(body, 0x57, c.p.track2())
	}
	if psn, good := hexDigits(c.p.PSN); good && len(psn) == 1 && !c.tx.app.recordsHave(path.AFL, 0x5F34) {
		body = tlv.Append(body, 0x5F34, psn)
	}
	if len(path.CTQ) == 2 {
		ctq := bytes.Clone(path.CTQ)
		if b.CDCVM || (b.SeePhone && c.seenPhone) {
			ctq[1] |= 0x80 // consumer device CVM performed
		}
		body = tlv.Append(body, 0x9F6C, ctq)
	}
	if cid == cidTC && c.p.keys != nil && c.p.keys.icc != nil && path.AIP[0]&0x20 != 0 {
		extra := append(bytes.Clone(vals[0x9F37]), vals[0x9F02]...)
		extra = append(extra, vals[0x5F2A]...)
		extra = append(extra, c.tx.app.CL9F69...)
		sdad, err := signDynamic(c.p.keys.icc, dynamicNumber(), extra)
		if err != nil {
			return swConditions
		}
		body = tlv.Append(body, 0x9F4B, sdad)
	}
	return ok(tlv.Encode(0x77, body))
}

// recordsHave reports whether the records an AFL names hold tag t.
func (a *App) recordsHave(afl []byte, t tlv.Tag) bool {
	for i := 0; i+4 <= len(afl); i += 4 {
		for r := afl[i+1]; r >= afl[i+1] && r <= afl[i+2]; r++ {
			objs, err := tlv.Parse(a.Records[recordID{afl[i] >> 3, r}])
			if err != nil {
				continue
			}
			if _, found := tlv.Find(objs, t); found {
				return true
			}
		}
	}
	return false
}

// dynamicNumber returns ICC dynamic data holding a fresh 8-byte ICC dynamic
// number: its length byte followed by the number.
func dynamicNumber() []byte { return append([]byte{8}, random(8)...) }

func hexDigits(s string) ([]byte, bool) {
	if len(s)%2 == 1 || !digitsOnly(s) {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out, true
}

// bcdAmount reads an n 12 amount; a malformed one counts as unlimited.
func bcdAmount(b []byte) int64 {
	var v int64
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return 1<<62 - 1
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v
}

func (c *Card) internalAuthenticate(cmd command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swWrongP1P2
	}
	if c.p.keys == nil || c.p.keys.icc == nil {
		return swINSNotSupported
	}
	if c.tx.app == nil {
		return swConditions
	}
	sdad, err := signDynamic(c.p.keys.icc, dynamicNumber(), cmd.data)
	if err != nil {
		return swWrongLength
	}
	return ok(tlv.Encode(0x80, sdad))
}

func (c *Card) generateAC(cmd command) []byte {
	if cmd.p2 != 0 || cmd.p1&0xC0 == 0xC0 || cmd.p1&0x2F != 0 {
		return swWrongP1P2
	}
	tx := &c.tx
	if tx.app == nil || !tx.gpo {
		return swConditions
	}
	if c.iface == hal.Contactless && tx.path.Kernel != "mchip" {
		return swConditions // qPBOC and qVSDC answer the cryptogram in the GPO
	}
	want, cda := cmd.p1&0xC0, cmd.p1&0x10 != 0
	b := c.p.Behaviour
	var cid byte
	var vals []map[tlv.Tag][]byte
	second := false
	switch {
	case tx.acCount == 0:
		if len(cmd.data) != tx.app.CDOL1.Len() {
			return swWrongLength
		}
		tx.cdol1Data = bytes.Clone(cmd.data)
		vals = []map[tlv.Tag][]byte{dolValues(tx.app.CDOL1, cmd.data), dolValues(tx.path.PDOL, tx.pdolData)}
		switch {
		case b.Decline || c.blocked(tx.app) || want == cidAAC:
			cid = cidAAC
		case want == cidARQC || b.Online:
			cid = cidARQC
		default:
			cid = cidTC
		}
	case tx.acCount == 1 && tx.firstCID == cidARQC:
		second = true
		if len(cmd.data) != tx.app.CDOL2.Len() {
			return swWrongLength
		}
		v2 := dolValues(tx.app.CDOL2, cmd.data)
		if iad, found := v2[0x91]; found && len(iad) >= 8 && !tx.extAuth {
			tx.issuerAuth = c.checkARPC(iad)
		}
		vals = []map[tlv.Tag][]byte{v2, dolValues(tx.app.CDOL1, tx.cdol1Data), dolValues(tx.path.PDOL, tx.pdolData)}
		arc := v2[0x8A]
		online := len(arc) == 2 && !bytes.Equal(arc, []byte("Y3")) && !bytes.Equal(arc, []byte("Z3"))
		switch {
		case want != cidTC, b.Decline, b.DeclineAfterOnline, c.blocked(tx.app):
			cid = cidAAC
		case b.IssuerAuthRequired && online && tx.issuerAuth != 1:
			cid = cidAAC
		default:
			cid = cidTC
		}
		if online {
			c.latc = c.atc
		}
	default:
		return swConditions
	}
	ac, err := c.cryptogram(cid, second, vals...)
	if err != nil {
		return swConditions
	}
	if !second {
		tx.firstCID, tx.ac = cid, ac
	}
	tx.acCount++
	atc := binary.BigEndian.AppendUint16(nil, c.atc)
	if cda && cid != cidAAC && tx.path.AIP[0]&0x01 != 0 && c.p.keys != nil && c.p.keys.icc != nil {
		return c.cdaResponse(cid, ac, atc, cmd.data, second, vals...)
	}
	if tx.app.Format == 1 {
		v := append([]byte{cid}, atc...)
		v = append(v, ac[:]...)
		v = append(v, tx.iad...)
		return ok(tlv.Encode(0x80, v))
	}
	body := tlv.Encode(0x9F27, []byte{cid})
	body = tlv.Append(body, 0x9F36, atc)
	body = tlv.Append(body, 0x9F26, ac[:])
	body = tlv.Append(body, 0x9F10, tx.iad)
	return ok(tlv.Encode(0x77, body))
}

// cdaResponse signs the cryptogram (Book 2 6.6.1): the ICC dynamic data
// holds the dynamic number, CID, AC and the transaction data hash code over
// PDOL data, CDOL1 data (and CDOL2 data for the second GENERATE AC) and the
// response objects other than the signature.
func (c *Card) cdaResponse(cid byte, ac [8]byte, atc, data []byte, second bool, vals ...map[tlv.Tag][]byte) []byte {
	body := tlv.Encode(0x9F27, []byte{cid})
	body = tlv.Append(body, 0x9F36, atc)
	body = tlv.Append(body, 0x9F10, c.tx.iad)
	h := sha1.New()
	h.Write(c.tx.pdolData)
	h.Write(c.tx.cdol1Data)
	if second {
		h.Write(data)
	}
	h.Write(body)
	dyn := dynamicNumber()
	dyn = append(dyn, cid)
	dyn = append(dyn, ac[:]...)
	dyn = append(dyn, h.Sum(nil)...)
	sdad, err := signDynamic(c.p.keys.icc, dyn, lookup(0x9F37, 4, vals...))
	if err != nil {
		return swConditions
	}
	body = tlv.Append(body, 0x9F4B, sdad)
	return ok(tlv.Encode(0x77, body))
}

// checkARPC verifies issuer authentication data (tag 91) over the first
// cryptogram by the application's version (method 1 or 2, under the key
// the version names); it returns 1 when it verifies, -1 otherwise.
func (c *Card) checkARPC(iad []byte) int {
	a := c.tx.app
	if a.Version.VerifyIssuerAuthData(a.iccMK, c.tx.sk, c.tx.ac[:], iad) != nil {
		return -1
	}
	return 1
}

func (c *Card) externalAuthenticate(cmd command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swWrongP1P2
	}
	tx := &c.tx
	if tx.acCount != 1 || tx.firstCID != cidARQC || tx.extAuth {
		return swConditions
	}
	if len(cmd.data) < 8 || len(cmd.data) > 16 {
		return swWrongLength
	}
	tx.extAuth = true
	tx.issuerAuth = c.checkARPC(cmd.data)
	if tx.issuerAuth != 1 {
		return swAuthFailed
	}
	return swOK
}

// script performs an issuer script command (secure messaging class). The
// MAC (last four bytes of the data) is not verified by the simulator.
func (c *Card) script(cmd command) []byte {
	if c.tx.app == nil || c.tx.acCount == 0 {
		return swConditions
	}
	if s := c.p.Behaviour.ScriptStatus; s != "" {
		sw, _ := unhex("script_status", s) // checked at load
		return sw
	}
	if len(cmd.data) < 4 {
		return swSecurity
	}
	value := cmd.data[:len(cmd.data)-4]
	switch cmd.ins {
	case 0x1E: // APPLICATION BLOCK
		c.appBlocked[string(c.tx.app.AID)] = true
	case 0x18: // APPLICATION UNBLOCK
		delete(c.appBlocked, string(c.tx.app.AID))
	case 0x16: // CARD BLOCK
		c.cardBlocked = true
	case 0x24: // PIN CHANGE/UNBLOCK
		c.pinTries = c.p.PINTries
	case 0xDA: // PUT DATA
		t := tlv.Tag(cmd.p1)<<8 | tlv.Tag(cmd.p2)
		if cmd.p1 == 0 {
			t = tlv.Tag(cmd.p2)
		}
		c.putData[t] = bytes.Clone(value)
	default:
		return swINSNotSupported
	}
	return swOK
}
