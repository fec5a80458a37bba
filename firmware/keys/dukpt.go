package keys

import (
	"crypto/des"
	"crypto/subtle"
	"fmt"
	"math/bits"

	"kpos/firmware/emvcrypto"
)

// DUKPT (ANSI X9.24-1:2009, TDES): a base derivation key (BDK, host only)
// and a key serial number (KSN, 10 bytes: key set, device ID and a 21-bit
// transaction counter) give an initial PIN encryption key (IPEK) that is
// loaded into the terminal. The terminal keeps 21 future keys and derives a
// unique key for every transaction; the host derives the same key from the
// BDK and the KSN sent with the transaction.

// KSNLen is the length of a DUKPT key serial number in bytes.
const KSNLen = 10

const (
	counterBits   = 21
	counterMask   = 1<<counterBits - 1
	numFutureKeys = counterBits
	// maxCounterOnes is the largest number of one bits a used counter may have.
	maxCounterOnes = 10
)

// DUKPTUsage selects the variant applied to a DUKPT transaction key.
type DUKPTUsage int

// The key variants of ANSI X9.24-1:2009.
const (
	DUKPTPIN          DUKPTUsage = iota + 1 // PIN encryption
	DUKPTMACRequest                         // MAC, request (terminal to host)
	DUKPTMACResponse                        // MAC, response (host to terminal)
	DUKPTDataRequest                        // data encryption, request
	DUKPTDataResponse                       // data encryption, response
)

// keyRegisterMask is XORed into a key for the left half of the NRKGP and
// into the BDK for the right half of the IPEK.
const keyRegisterMask = "\xC0\xC0\xC0\xC0\x00\x00\x00\x00\xC0\xC0\xC0\xC0\x00\x00\x00\x00"

// variantMask returns the XOR mask of a usage; each byte is applied to both
// halves at the same position.
func variantMask(u DUKPTUsage) (pos int, ok bool) {
	switch u {
	case DUKPTPIN:
		return 7, true
	case DUKPTMACRequest:
		return 6, true
	case DUKPTMACResponse:
		return 4, true
	case DUKPTDataRequest:
		return 5, true
	case DUKPTDataResponse:
		return 3, true
	}
	return 0, false
}

// DUKPTVariant returns the working key of the given usage from a DUKPT
// transaction key: the key XOR the usage's variant constant; for the data
// keys the variant is then encrypted under itself (X9.24-1:2009).
func DUKPTVariant(key []byte, usage DUKPTUsage) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("%w: DUKPT key is %d bytes, want 16", ErrKeyLength, len(key))
	}
	pos, ok := variantMask(usage)
	if !ok {
		return nil, fmt.Errorf("%w: unknown DUKPT usage %d", ErrConfig, usage)
	}
	out := make([]byte, 16)
	copy(out, key)
	out[pos] ^= 0xFF
	out[8+pos] ^= 0xFF
	if usage == DUKPTDataRequest || usage == DUKPTDataResponse {
		b, err := emvcrypto.TDES(out)
		if err != nil {
			return nil, fmt.Errorf("keys: DUKPT data key: %w", err)
		}
		b.Encrypt(out[:8], out[:8])
		b.Encrypt(out[8:], out[8:])
	}
	return out, nil
}

// DUKPTIPEK derives the initial PIN encryption key from the BDK and a KSN
// (its counter is ignored).
func DUKPTIPEK(bdk, ksn []byte) ([]byte, error) {
	if len(bdk) != 16 {
		return nil, fmt.Errorf("%w: BDK is %d bytes, want 16", ErrKeyLength, len(bdk))
	}
	if len(ksn) != KSNLen {
		return nil, fmt.Errorf("%w: KSN is %d bytes, want %d", ErrFormat, len(ksn), KSNLen)
	}
	var base [8]byte
	copy(base[:], ksn[:8])
	base[7] &^= 0x1F // the counter's top 5 bits live in byte 7 of the KSN
	ipek := make([]byte, 16)
	b, err := emvcrypto.TDES(bdk)
	if err != nil {
		return nil, fmt.Errorf("keys: DUKPT: %w", err)
	}
	b.Encrypt(ipek[:8], base[:])
	var masked [16]byte
	subtle.XORBytes(masked[:], bdk, []byte(keyRegisterMask))
	b, err = emvcrypto.TDES(masked[:])
	clear(masked[:])
	if err != nil {
		return nil, fmt.Errorf("keys: DUKPT: %w", err)
	}
	b.Encrypt(ipek[8:], base[:])
	return ipek, nil
}

// nrkgp is the non-reversible key generation process of X9.24-1: a new
// 16-byte key from a 16-byte key and the 8-byte crypto register.
func nrkgp(key []byte, reg [8]byte) []byte {
	out := make([]byte, 16)
	half := func(dst, k []byte) {
		c, _ := des.NewCipher(k[:8]) // 8-byte key: cannot fail
		var r [8]byte
		subtle.XORBytes(r[:], reg[:], k[8:])
		c.Encrypt(r[:], r[:])
		subtle.XORBytes(dst, r[:], k[8:])
	}
	half(out[8:], key)
	var masked [16]byte
	subtle.XORBytes(masked[:], key, []byte(keyRegisterMask))
	half(out[:8], masked[:])
	clear(masked[:])
	return out
}

// counterOf returns the 21-bit transaction counter of a KSN.
func counterOf(ksn []byte) uint32 {
	return (uint32(ksn[7])<<16 | uint32(ksn[8])<<8 | uint32(ksn[9])) & counterMask
}

// register returns the rightmost 8 bytes of ksn with the counter replaced.
func register(ksn []byte, counter uint32) [8]byte {
	var r [8]byte
	copy(r[:], ksn[2:10])
	r[5] = r[5]&^0x1F | byte(counter>>16)&0x1F
	r[6] = byte(counter >> 8)
	r[7] = byte(counter)
	return r
}

// DUKPTDeriveKeyFromIPEK derives the transaction key of ksn from the IPEK
// (the host side, when it keeps IPEKs rather than the BDK).
func DUKPTDeriveKeyFromIPEK(ipek, ksn []byte) ([]byte, error) {
	if len(ipek) != 16 {
		return nil, fmt.Errorf("%w: IPEK is %d bytes, want 16", ErrKeyLength, len(ipek))
	}
	if len(ksn) != KSNLen {
		return nil, fmt.Errorf("%w: KSN is %d bytes, want %d", ErrFormat, len(ksn), KSNLen)
	}
	target := counterOf(ksn)
	if bits.OnesCount32(target) > maxCounterOnes {
		return nil, fmt.Errorf("%w: KSN counter has more than %d one bits", ErrFormat, maxCounterOnes)
	}
	key := append([]byte(nil), ipek...)
	var acc uint32
	for bit := uint32(1) << (counterBits - 1); bit != 0; bit >>= 1 {
		if target&bit == 0 {
			continue
		}
		acc |= bit
		next := nrkgp(key, register(ksn, acc))
		clear(key)
		key = next
	}
	return key, nil
}

// DUKPTDeriveKey derives the transaction key of ksn from the base derivation
// key: the host side. Apply DUKPTVariant for the PIN, MAC or data key.
func DUKPTDeriveKey(bdk, ksn []byte) ([]byte, error) {
	ipek, err := DUKPTIPEK(bdk, ksn)
	if err != nil {
		return nil, err
	}
	defer clear(ipek)
	return DUKPTDeriveKeyFromIPEK(ipek, ksn)
}

// DUKPTOriginator is the terminal side of DUKPT: the current KSN and the 21
// future key registers. Each call to Next hands out the key of the current
// counter, erases it and prepares the following ones, so no key is ever used
// twice and no past key can be recomputed from the registers. It is not safe
// for concurrent use; the Store serializes and persists it.
type DUKPTOriginator struct {
	ksn    [KSNLen]byte
	future [numFutureKeys][]byte // future[b]: key for the counter whose lowest set bit is b
}

// NewDUKPTOriginator loads an IPEK and its initial KSN (the counter bits are
// ignored): it fills the future key registers and sets the counter to 1.
func NewDUKPTOriginator(ipek, iksn []byte) (*DUKPTOriginator, error) {
	if len(ipek) != 16 {
		return nil, fmt.Errorf("%w: IPEK is %d bytes, want 16", ErrKeyLength, len(ipek))
	}
	if len(iksn) != KSNLen {
		return nil, fmt.Errorf("%w: KSN is %d bytes, want %d", ErrFormat, len(iksn), KSNLen)
	}
	o := &DUKPTOriginator{}
	copy(o.ksn[:], iksn)
	o.setCounter(0)
	for b := 0; b < numFutureKeys; b++ {
		o.future[b] = nrkgp(ipek, register(o.ksn[:], 1<<b))
	}
	o.setCounter(1)
	return o, nil
}

func (o *DUKPTOriginator) setCounter(c uint32) {
	o.ksn[7] = o.ksn[7]&^0x1F | byte(c>>16)&0x1F
	o.ksn[8] = byte(c >> 8)
	o.ksn[9] = byte(c)
}

// KSN returns the key serial number the next call to Next will use.
func (o *DUKPTOriginator) KSN() []byte {
	return append([]byte(nil), o.ksn[:]...)
}

// Next returns the transaction key (without variant) for the current KSN and
// that KSN, and advances the originator. It returns ErrDUKPTExhausted once
// the counter has run out.
func (o *DUKPTOriginator) Next() (key, ksn []byte, err error) {
	for {
		c := counterOf(o.ksn[:])
		if c == 0 {
			return nil, nil, ErrDUKPTExhausted
		}
		b := bits.TrailingZeros32(c)
		cur := o.future[b]
		if cur == nil {
			// An invalid register: skip every counter that would need it.
			if !o.advance(c, b, false) {
				return nil, nil, ErrDUKPTExhausted
			}
			continue
		}
		ksn = o.KSN()
		if bits.OnesCount32(c) < maxCounterOnes {
			for j := b - 1; j >= 0; j-- {
				o.future[j] = nrkgp(cur, register(o.ksn[:], c|1<<j))
			}
		}
		o.future[b] = nil
		o.advance(c, b, bits.OnesCount32(c) < maxCounterOnes)
		return cur, ksn, nil
	}
}

// advance moves the counter past c: by one when lower registers were just
// filled, otherwise past every counter below the lowest set bit. A counter
// that overflows 21 bits is stored as zero: exhausted.
func (o *DUKPTOriginator) advance(c uint32, b int, byOne bool) bool {
	next := c + 1<<b
	if byOne {
		next = c + 1
	}
	if next > counterMask {
		o.setCounter(0)
		return false
	}
	o.setCounter(next)
	return true
}

// dukptRecord is the persistent form of an originator.
type dukptRecord struct {
	KSN    []byte   `json:"ksn"`
	Future [][]byte `json:"future"`
}

func (o *DUKPTOriginator) record() *dukptRecord {
	r := &dukptRecord{KSN: o.KSN(), Future: make([][]byte, numFutureKeys)}
	for i, k := range o.future {
		if k != nil {
			r.Future[i] = append([]byte(nil), k...)
		}
	}
	return r
}

func originatorFromRecord(r *dukptRecord) (*DUKPTOriginator, error) {
	if len(r.KSN) != KSNLen || len(r.Future) != numFutureKeys {
		return nil, fmt.Errorf("%w: DUKPT state", ErrFormat)
	}
	o := &DUKPTOriginator{}
	copy(o.ksn[:], r.KSN)
	for i, k := range r.Future {
		switch len(k) {
		case 0:
		case 16:
			o.future[i] = append([]byte(nil), k...)
		default:
			return nil, fmt.Errorf("%w: DUKPT future key %d", ErrFormat, i)
		}
	}
	return o, nil
}

// wipe erases the stored future keys; a nil record is a no-op.
func (r *dukptRecord) wipe() {
	if r == nil {
		return
	}
	for _, k := range r.Future {
		clear(k)
	}
}

// wipe erases the future keys.
func (o *DUKPTOriginator) wipe() {
	for i, k := range o.future {
		clear(k)
		o.future[i] = nil
	}
}
