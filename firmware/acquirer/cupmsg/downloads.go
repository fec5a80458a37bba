package cupmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kpos/firmware/emv/tlv"
)

// What field 62 carries in the parameter download and the CUP download
// sequence (docs/acquirer.md): the terminal parameters as private tags, and
// the status pages, CA public keys and IC card parameters in BER-TLV. The
// terminal reads what the host simulator writes with these, so that an
// entry's layout is declared once.

// Params are the terminal parameters a binding or a parameter download
// delivers (private tags 30 to 3A). Amounts in fen, fees in basis points
// per payment method.
type Params struct {
	TxnLimit       int64
	DailyLimit     int64
	FeeBP          map[string]int
	SettlementTime string // HH:MM
	HostAddr       string
	APN            string
	Methods        []string
	MCC            string
	City           string
	AcquirerIIN    string
}

// Tags are the parameters as private tags, every one present, the fees in
// the order of their method's name.
func (p Params) Tags() Tags {
	var out Tags
	out.Add(TagPerTxnLimit, strconv.FormatInt(p.TxnLimit, 10))
	out.Add(TagDailyLimit, strconv.FormatInt(p.DailyLimit, 10))
	methods := make([]string, 0, len(p.FeeBP))
	for m := range p.FeeBP {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var fees []string
	for _, m := range methods {
		fees = append(fees, m+":"+strconv.Itoa(p.FeeBP[m]))
	}
	out.Add(TagFeeRate, strings.Join(fees, ","))
	out.Add(TagSettleTime, p.SettlementTime)
	out.Add(TagHostAddr, p.HostAddr)
	out.Add(TagAPN, p.APN)
	out.Add(TagMethods, strings.Join(p.Methods, ","))
	out.Add(TagMCC, p.MCC)
	out.Add(TagCity, p.City)
	out.Add(TagAcquirerIIN, p.AcquirerIIN)
	return out
}

// ParamsOf reads the parameters from private tags; what is missing or not
// a number is zero, a fee entry that is not method:points is left out.
func ParamsOf(t Tags) Params {
	var p Params
	num := func(id string) int64 {
		v, _ := t.Get(id)
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	p.TxnLimit, p.DailyLimit = num(TagPerTxnLimit), num(TagDailyLimit)
	if v, ok := t.Get(TagFeeRate); ok && v != "" {
		p.FeeBP = map[string]int{}
		for _, kv := range strings.Split(v, ",") {
			k, bp, ok := strings.Cut(kv, ":")
			if n, err := strconv.Atoi(bp); ok && err == nil {
				p.FeeBP[k] = n
			}
		}
	}
	p.SettlementTime, _ = t.Get(TagSettleTime)
	p.HostAddr, _ = t.Get(TagHostAddr)
	p.APN, _ = t.Get(TagAPN)
	if v, ok := t.Get(TagMethods); ok && v != "" {
		p.Methods = strings.Split(v, ",")
	}
	p.MCC, _ = t.Get(TagMCC)
	p.City, _ = t.Get(TagCity)
	p.AcquirerIIN, _ = t.Get(TagAcquirerIIN)
	return p
}

// Status bytes: the first byte of field 62 of the 0830 that answers a
// status upload (372, 382) says what follows; the entries come after it in
// BER-TLV. A download answer (370, 380) starts with StatusLast when it
// carries the key or parameters asked for, StatusNone when the host holds
// no such entry.
const (
	StatusNone = '0' // nothing (more) to list
	StatusLast = '1' // the entries that follow end the list
	StatusMore = '2' // more follow: ask again from the count received
)

// MaxStatusEntries is what a status upload's count (n2) can say.
const MaxStatusEntries = 99

// maxField62 is field 62's limit (LLL, 999 bytes).
const maxField62 = 999

// StatusQuery is field 62 of a status upload: "1" and the count of entries
// the terminal holds from earlier pages (n2).
func StatusQuery(held int) []byte { return []byte(fmt.Sprintf("1%02d", held%100)) }

// StatusPage is the host's answer to a status upload whose field 62 is q
// (StatusQuery): the entries from the count q names on, as many as fit in
// field 62 after the status byte. ok is false when q is malformed.
func StatusPage(q []byte, entries [][]byte) (f62 []byte, ok bool) {
	if len(q) != 3 || q[0] != '1' || q[1] < '0' || q[1] > '9' || q[2] < '0' || q[2] > '9' {
		return nil, false
	}
	from := int(q[1]-'0')*10 + int(q[2]-'0')
	if from >= len(entries) {
		return []byte{StatusNone}, true
	}
	f62 = []byte{StatusLast}
	i := from
	for ; i < len(entries) && len(f62)+len(entries[i]) <= maxField62; i++ {
		f62 = append(f62, entries[i]...)
	}
	if i < len(entries) {
		f62[0] = StatusMore
	}
	return f62, true
}

// ParseStatus reads field 62 of a status answer: the status byte, then
// whole entries of width TLV objects each. more reports that the host has
// more to list. A page that says more follow must carry some.
func ParseStatus(f62 []byte, width int) (more bool, entries [][]tlv.TLV, err error) {
	if len(f62) == 0 {
		return false, nil, fmt.Errorf("%w: no field 62", ErrMessage)
	}
	switch f62[0] {
	case StatusNone:
		return false, nil, nil
	case StatusLast, StatusMore:
	default:
		return false, nil, fmt.Errorf("%w: status %q", ErrMessage, f62[0])
	}
	if width < 1 {
		return false, nil, fmt.Errorf("%w: entries of %d objects", ErrMessage, width)
	}
	objs, err := tlv.Parse(f62[1:])
	if err != nil {
		return false, nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	if len(objs) == 0 || len(objs)%width != 0 {
		return false, nil, fmt.Errorf("%w: %d objects are not whole entries", ErrMessage, len(objs))
	}
	for i := 0; i < len(objs); i += width {
		entries = append(entries, objs[i:i+width])
	}
	return f62[0] == StatusMore, entries, nil
}

// ErrNotHeld reports a download answer without the entry asked for.
var ErrNotHeld = errors.New("cupmsg: the host sent nothing for the entry asked for")

// Downloaded is field 62 of a download answer (370, 380) for the entry
// asked for: StatusLast and the entry, or StatusNone when the host holds
// no such entry (entry nil).
func Downloaded(entry []byte) []byte {
	if entry == nil {
		return []byte{StatusNone}
	}
	return append([]byte{StatusLast}, entry...)
}

// ParseDownloaded reads field 62 of a download answer: the entry's BER-TLV,
// ErrNotHeld when the host sent none.
func ParseDownloaded(f62 []byte) ([]byte, error) {
	if len(f62) == 0 || f62[0] != StatusLast {
		return nil, ErrNotHeld
	}
	return f62[1:], nil
}

// CAKeySM2 is the key algorithm indicator (DF07) of an SM2 CA public key in
// the CA key download, as in the UnionPay CA key list.
const CAKeySM2 = 0x04

// CAKey is an EMV CA public key as the host distributes it.
type CAKey struct {
	RID      []byte
	Index    byte
	Expiry   string // YYYYMMDD
	Modulus  []byte
	Exponent []byte
	Checksum []byte // SHA-1 over RID, index, modulus, exponent
	// Algorithm is DF07, the key algorithm indicator: 01 RSA, 04 SM2 (the
	// 64-byte point X || Y in Modulus, no exponent; DF06 hash 07 SM3).
	Algorithm byte
}

// TLV is the key in the download's form: 9F06 RID, 9F22 index, DF05
// expiry, DF06 hash algorithm (01 SHA-1, 07 SM3), DF07 key algorithm (01
// RSA when unsaid), DF02 modulus, DF04 exponent (none for SM2), DF03
// checksum.
func (k CAKey) TLV() []byte {
	alg, hash := k.Algorithm, byte(0x01)
	if alg == 0 {
		alg = 0x01
	}
	if alg == CAKeySM2 {
		hash = 0x07
	}
	var out []byte
	out = tlv.Append(out, 0x9F06, k.RID)
	out = tlv.Append(out, 0x9F22, []byte{k.Index})
	out = tlv.Append(out, 0xDF05, []byte(k.Expiry))
	out = tlv.Append(out, 0xDF06, []byte{hash})
	out = tlv.Append(out, 0xDF07, []byte{alg})
	out = tlv.Append(out, 0xDF02, k.Modulus)
	if len(k.Exponent) > 0 {
		out = tlv.Append(out, 0xDF04, k.Exponent)
	}
	return tlv.Append(out, 0xDF03, k.Checksum)
}

// ParseCAKey reads a downloaded CA public key. RID, index and modulus must
// be there, and the exponent unless the key is SM2.
func ParseCAKey(b []byte) (CAKey, error) {
	objs, err := tlv.Parse(b)
	if err != nil {
		return CAKey{}, fmt.Errorf("%w: CA key: %w", ErrMessage, err)
	}
	get := func(t tlv.Tag) []byte {
		if o, ok := tlv.Find(objs, t); ok {
			return o.Value
		}
		return nil
	}
	k := CAKey{RID: get(0x9F06), Expiry: string(get(0xDF05)), Modulus: get(0xDF02), Exponent: get(0xDF04), Checksum: get(0xDF03)}
	idx := get(0x9F22)
	if a := get(0xDF07); len(a) == 1 {
		k.Algorithm = a[0]
	}
	if len(k.RID) != 5 || len(idx) != 1 || len(k.Modulus) == 0 || (len(k.Exponent) == 0 && k.Algorithm != CAKeySM2) {
		return CAKey{}, fmt.Errorf("%w: CA key lacks RID, index, modulus or exponent", ErrMessage)
	}
	k.Index = idx[0]
	return k, nil
}

// CAKeyID names one CA public key in the host's status answer: 9F06 RID,
// 9F22 index, DF05 expiry (YYYYMMDD).
type CAKeyID struct {
	RID    []byte
	Index  byte
	Expiry string
}

// CAKeyIDWidth is the number of TLV objects of one CAKeyID entry.
const CAKeyIDWidth = 3

// TLV is the entry of the status answer.
func (id CAKeyID) TLV() []byte {
	var e []byte
	e = tlv.Append(e, 0x9F06, id.RID)
	e = tlv.Append(e, 0x9F22, []byte{id.Index})
	return tlv.Append(e, 0xDF05, []byte(id.Expiry))
}

// CAKeyIDOf reads one entry of the status answer (ParseStatus, width
// CAKeyIDWidth).
func CAKeyIDOf(e []tlv.TLV) (CAKeyID, error) {
	if len(e) != CAKeyIDWidth || e[0].Tag != 0x9F06 || e[1].Tag != 0x9F22 || e[2].Tag != 0xDF05 || len(e[0].Value) != 5 || len(e[1].Value) != 1 {
		return CAKeyID{}, fmt.Errorf("%w: CA key status is not RID, index, expiry", ErrMessage)
	}
	return CAKeyID{RID: e[0].Value, Index: e[1].Value[0], Expiry: string(e[2].Value)}, nil
}

// Query is field 62 of the download of one key (370): its RID and index.
func (id CAKeyID) Query() []byte {
	return tlv.Append(tlv.Encode(0x9F06, id.RID), 0x9F22, []byte{id.Index})
}

// ParseCAKeyQuery reads field 62 of a CA key download request: the RID and
// index asked for.
func ParseCAKeyQuery(q []byte) (rid []byte, index []byte, err error) {
	objs, err := tlv.Parse(q)
	r, ok1 := tlv.Find(objs, 0x9F06)
	i, ok2 := tlv.Find(objs, 0x9F22)
	if err != nil || !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: CA key download names no RID and index", ErrMessage)
	}
	return r.Value, i.Value, nil
}

// AIDQuery is the status entry of an application (IC parameter status,
// width 1) and field 62 of the download of its parameters (380): 9F06.
func AIDQuery(aid []byte) []byte { return tlv.Encode(0x9F06, aid) }

// ParseAIDQuery reads the AID of an IC parameter download request.
func ParseAIDQuery(q []byte) ([]byte, error) {
	objs, err := tlv.Parse(q)
	aid, ok := tlv.Find(objs, 0x9F06)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: IC parameter download names no AID", ErrMessage)
	}
	return aid.Value, nil
}

// AIDOf reads one entry of the IC parameter status answer (width 1).
func AIDOf(e []tlv.TLV) ([]byte, error) {
	if len(e) != 1 || e[0].Tag != 0x9F06 || len(e[0].Value) < 5 || len(e[0].Value) > 16 {
		return nil, fmt.Errorf("%w: IC parameter status holds no AID", ErrMessage)
	}
	return e[0].Value, nil
}

// ICParams are one application's IC card parameters as the CUP download
// carries them: 9F06 AID, DF01 application selection indicator (1: partial
// name allowed), 9F09 version, DF11/DF12/DF13 TAC default, online, denial,
// 9F1B floor limit (binary 4), DF15 random selection threshold (binary 4),
// DF16 maximum and DF17 target percentage, DF14 default DDOL, DF18 online
// PIN supported, DF19 contactless floor limit, DF20 contactless transaction
// limit, DF21 CVM required limit (n 12 each). Amounts in minor units.
type ICParams struct {
	AID                                  []byte
	Partial                              bool
	Version                              []byte
	TACDefault, TACOnline, TACDenial     []byte
	FloorLimit, RandomThreshold          int64
	RandomMax, RandomTarget              int
	DDOL                                 []byte
	OnlinePIN                            bool
	CLFloorLimit, CLTxnLimit, CLCVMLimit int64
}

// TLV is the parameters in the download's form.
func (p ICParams) TLV() []byte {
	b := func(v bool) []byte {
		if v {
			return []byte{1}
		}
		return []byte{0}
	}
	n12 := func(v int64) []byte {
		s := fmt.Sprintf("%012d", min(max(v, 0), 999999999999))
		out := make([]byte, 6)
		for i := range out {
			out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
		}
		return out
	}
	var out []byte
	out = tlv.Append(out, 0x9F06, p.AID)
	out = tlv.Append(out, 0xDF01, b(p.Partial))
	out = tlv.Append(out, 0x9F09, p.Version)
	out = tlv.Append(out, 0xDF11, p.TACDefault)
	out = tlv.Append(out, 0xDF12, p.TACOnline)
	out = tlv.Append(out, 0xDF13, p.TACDenial)
	out = tlv.Append(out, 0x9F1B, binary.BigEndian.AppendUint32(nil, uint32(min(max(p.FloorLimit, 0), 0xFFFFFFFF))))
	out = tlv.Append(out, 0xDF15, binary.BigEndian.AppendUint32(nil, uint32(min(max(p.RandomThreshold, 0), 0xFFFFFFFF))))
	out = tlv.Append(out, 0xDF16, []byte{byte(p.RandomMax)})
	out = tlv.Append(out, 0xDF17, []byte{byte(p.RandomTarget)})
	out = tlv.Append(out, 0xDF14, p.DDOL)
	out = tlv.Append(out, 0xDF18, b(p.OnlinePIN))
	out = tlv.Append(out, 0xDF19, n12(p.CLFloorLimit))
	out = tlv.Append(out, 0xDF20, n12(p.CLTxnLimit))
	out = tlv.Append(out, 0xDF21, n12(p.CLCVMLimit))
	return out
}

// ParseICParams reads one application's parameters. The AID, version and
// the three TACs must be there.
func ParseICParams(raw []byte) (ICParams, error) {
	objs, err := tlv.Parse(raw)
	if err != nil {
		return ICParams{}, fmt.Errorf("%w: IC parameters: %w", ErrMessage, err)
	}
	v := map[tlv.Tag][]byte{}
	for _, o := range objs {
		v[o.Tag] = o.Value
	}
	p := ICParams{AID: v[0x9F06], Version: v[0x9F09], TACDefault: v[0xDF11], TACOnline: v[0xDF12], TACDenial: v[0xDF13], DDOL: v[0xDF14]}
	if len(p.AID) < 5 || len(p.AID) > 16 || len(p.Version) != 2 || len(p.TACDefault) != 5 || len(p.TACOnline) != 5 || len(p.TACDenial) != 5 {
		return ICParams{}, fmt.Errorf("%w: IC parameters lack AID, version or TACs", ErrMessage)
	}
	p.Partial = len(v[0xDF01]) == 1 && v[0xDF01][0] == 1
	p.OnlinePIN = len(v[0xDF18]) == 1 && v[0xDF18][0] == 1
	if x := v[0x9F1B]; len(x) == 4 {
		p.FloorLimit = int64(binary.BigEndian.Uint32(x))
	}
	if x := v[0xDF15]; len(x) == 4 {
		p.RandomThreshold = int64(binary.BigEndian.Uint32(x))
	}
	if x := v[0xDF16]; len(x) == 1 {
		p.RandomMax = int(x[0])
	}
	if x := v[0xDF17]; len(x) == 1 {
		p.RandomTarget = int(x[0])
	}
	for _, f := range []struct {
		tag tlv.Tag
		dst *int64
	}{{0xDF19, &p.CLFloorLimit}, {0xDF20, &p.CLTxnLimit}, {0xDF21, &p.CLCVMLimit}} {
		x, ok := v[f.tag]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(fmt.Sprintf("%X", x), 10, 64)
		if err != nil || len(x) != 6 {
			return ICParams{}, fmt.Errorf("%w: IC parameters: %v is not n 12", ErrMessage, f.tag)
		}
		*f.dst = n
	}
	return p, nil
}
