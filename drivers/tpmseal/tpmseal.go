// Package tpmseal seals the terminal's device key in a TPM 2.0 (TCG TPM 2.0
// Library, Part 3 Commands): the key becomes a sealed data object under a
// storage primary key the TPM derives from its owner seed, and only that TPM
// can load and unseal it. A copy of the sealed bytes is useless anywhere
// else, and after the TPM is cleared.
//
// It speaks the TPM's own command bytes to /dev/tpmrm0 (the kernel's
// resource manager), or to a TPM simulator's socket in tests, with no TPM
// library. Authorization is the empty password (TPM_RS_PW): the sealed object
// is bound to the TPM, not to a PIN. The unsealed key crosses the bus to the
// TPM in the clear (no encrypted session); a board whose TPM sits on a bus an
// attacker can probe needs a salted session, which this package does not do.
//
// It implements hal.KeySealer and knows nothing of what the key protects.
package tpmseal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"kpos/hal"
)

// TPM reaches a TPM 2.0.
type TPM struct {
	// Open returns a fresh connection for one seal or unseal; the TPM's
	// transient objects are flushed before it is closed.
	Open func() (io.ReadWriteCloser, error)
}

var _ hal.KeySealer = (*TPM)(nil)

// Device reaches the TPM at path, normally /dev/tpmrm0.
func Device(path string) *TPM {
	return &TPM{Open: func() (io.ReadWriteCloser, error) { return os.OpenFile(path, os.O_RDWR, 0) }}
}

// Errors a caller can branch on.
var (
	ErrTPM      = errors.New("tpmseal: TPM refused")
	ErrTampered = errors.New("tpmseal: sealed key damaged, or sealed by another TPM")
)

// The constants of TPM 2.0 Part 2 that this package uses.
const (
	stNoSessions = 0x8001
	stSessions   = 0x8002

	ccCreatePrimary = 0x0131
	ccCreate        = 0x0153
	ccLoad          = 0x0157
	ccUnseal        = 0x015E
	ccFlushContext  = 0x0165

	rhOwner = 0x40000001
	rsPW    = 0x40000009

	algAES       = 0x0006
	algKeyedHash = 0x0008
	algSHA256    = 0x000B
	algNull      = 0x0010
	algECC       = 0x0023
	algCFB       = 0x0043
	eccNistP256  = 0x0003

	attrFixedTPM            = 1 << 1
	attrFixedParent         = 1 << 4
	attrSensitiveDataOrigin = 1 << 5
	attrUserWithAuth        = 1 << 6
	attrNoDA                = 1 << 10
	attrRestricted          = 1 << 16
	attrDecrypt             = 1 << 17

	rcRetry   = 0x922 // TPM_RC_RETRY
	rcYielded = 0x908 // TPM_RC_YIELDED
	rcTesting = 0x90A // TPM_RC_TESTING
)

// magic opens a sealed key: then TPM2B_PRIVATE and TPM2B_PUBLIC as the TPM
// returned them.
const magic = "KPOSTPM1"

// maxResponse bounds what is read from the TPM (its own limit is 4096).
const maxResponse = 4096

// srkTemplate is a TPMT_PUBLIC for the storage primary key: ECC P-256,
// restricted decryption, AES-128-CFB, made inside the TPM (the template of
// the TCG's "EK Credential Profile" storage keys). The same template under
// the same owner seed gives the same key at every boot.
func srkTemplate() []byte {
	var b []byte
	b = u16(b, algECC)
	b = u16(b, algSHA256)
	b = u32(b, attrFixedTPM|attrFixedParent|attrSensitiveDataOrigin|attrUserWithAuth|attrNoDA|attrRestricted|attrDecrypt)
	b = u16(b, 0)                // authPolicy
	b = u16(b, algAES)           // symmetric
	b = u16(b, 128)              //   keyBits
	b = u16(b, algCFB)           //   mode
	b = u16(b, algNull)          // scheme
	b = u16(b, eccNistP256)      // curveID
	b = u16(b, algNull)          // kdf
	return append(b, 0, 0, 0, 0) // unique: empty x and y
}

// sealTemplate is a TPMT_PUBLIC for a sealed data object: a keyed hash
// with no scheme, bound to this TPM and its parent.
func sealTemplate() []byte {
	var b []byte
	b = u16(b, algKeyedHash)
	b = u16(b, algSHA256)
	b = u32(b, attrFixedTPM|attrFixedParent|attrUserWithAuth|attrNoDA)
	b = u16(b, 0)       // authPolicy
	b = u16(b, algNull) // scheme
	return u16(b, 0)    // unique
}

// Seal returns key sealed under this TPM's storage primary key.
func (t *TPM) Seal(ctx context.Context, key []byte) ([]byte, error) {
	var out []byte
	err := t.session(ctx, func(c *conn, parent uint32) error {
		var p []byte
		p = tpm2b(p, append(u16(u16(nil, 0), uint16(len(key))), key...)) // inSensitive: empty userAuth, data
		p = tpm2b(p, sealTemplate())
		p = u16(p, 0) // outsideInfo
		p = u32(p, 0) // creationPCR: none
		r, err := c.run(ctx, ccCreate, []uint32{parent}, p)
		if err != nil {
			return err
		}
		rd := reader{b: r}
		rd.u32() // parameterSize
		priv := rd.tpm2b()
		pub := rd.tpm2b()
		if rd.err != nil {
			return fmt.Errorf("%w: short TPM2_Create answer", ErrTPM)
		}
		out = append([]byte(magic), tpm2b(tpm2b(nil, priv), pub)...)
		return nil
	})
	return out, err
}

// Unseal loads sealed under this TPM's storage primary key and returns
// the key.
func (t *TPM) Unseal(ctx context.Context, sealed []byte) ([]byte, error) {
	if !bytes.HasPrefix(sealed, []byte(magic)) {
		return nil, ErrTampered
	}
	rd := reader{b: sealed[len(magic):]}
	priv, pub := rd.tpm2b(), rd.tpm2b()
	if rd.err != nil || len(rd.b) != 0 {
		return nil, ErrTampered
	}
	var key []byte
	err := t.session(ctx, func(c *conn, parent uint32) error {
		r, err := c.run(ctx, ccLoad, []uint32{parent}, tpm2b(tpm2b(nil, priv), pub))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrTampered, err)
		}
		if len(r) < 4 {
			return fmt.Errorf("%w: short TPM2_Load answer", ErrTPM)
		}
		obj := binary.BigEndian.Uint32(r)
		defer c.flush(obj)
		r, err = c.run(ctx, ccUnseal, []uint32{obj}, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrTampered, err)
		}
		rd := reader{b: r}
		rd.u32() // parameterSize
		key = rd.tpm2b()
		if rd.err != nil {
			return fmt.Errorf("%w: short TPM2_Unseal answer", ErrTPM)
		}
		return nil
	})
	return key, err
}

// session opens the TPM, makes the storage primary key, runs fn with its
// handle, and flushes it.
func (t *TPM) session(ctx context.Context, fn func(c *conn, parent uint32) error) error {
	rw, err := t.Open()
	if err != nil {
		return fmt.Errorf("tpmseal: %w", err)
	}
	defer rw.Close()
	c := &conn{rw: rw}
	var p []byte
	p = tpm2b(p, []byte{0, 0, 0, 0}) // inSensitive: empty userAuth and data
	p = tpm2b(p, srkTemplate())
	p = u16(p, 0) // outsideInfo
	p = u32(p, 0) // creationPCR
	r, err := c.run(ctx, ccCreatePrimary, []uint32{rhOwner}, p)
	if err != nil {
		return err
	}
	if len(r) < 4 {
		return fmt.Errorf("%w: short TPM2_CreatePrimary answer", ErrTPM)
	}
	parent := binary.BigEndian.Uint32(r)
	defer c.flush(parent)
	return fn(c, parent)
}

// conn runs commands on one open TPM.
type conn struct{ rw io.ReadWriter }

// run sends a command with the empty password on each handle (none for
// FlushContext) and returns the answer after its header (handles, then
// parameters).
func (c *conn) run(ctx context.Context, cc uint32, handles []uint32, params []byte) ([]byte, error) {
	tag := uint16(stSessions)
	if cc == ccFlushContext {
		tag = stNoSessions
	}
	var body []byte
	for _, h := range handles {
		body = u32(body, h)
	}
	if tag == stSessions {
		// One TPMS_AUTH_COMMAND per handle: TPM_RS_PW, no nonce,
		// continueSession, empty password.
		auth := []byte{}
		for range handles {
			auth = u32(auth, rsPW)
			auth = append(auth, 0, 0, 1, 0, 0)
		}
		body = u32(body, uint32(len(auth)))
		body = append(body, auth...)
	}
	body = append(body, params...)
	cmd := u16(nil, tag)
	cmd = u32(cmd, uint32(10+len(body)))
	cmd = u32(cmd, cc)
	cmd = append(cmd, body...)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("tpmseal: %w", err)
		}
		resp, err := c.exchange(cmd)
		if err != nil {
			return nil, err
		}
		rc := binary.BigEndian.Uint32(resp[6:10])
		switch rc {
		case 0:
			return resp[10:], nil
		case rcRetry, rcYielded, rcTesting:
			continue // the TPM asks for the same command again
		}
		return nil, fmt.Errorf("%w: command %#x: response code %#x", ErrTPM, cc, rc)
	}
}

// exchange writes one command and reads its whole answer.
func (c *conn) exchange(cmd []byte) ([]byte, error) {
	if _, err := c.rw.Write(cmd); err != nil {
		return nil, fmt.Errorf("tpmseal: write: %w", err)
	}
	// A TPM device answers in one read; a simulator's socket may split it.
	buf := make([]byte, maxResponse)
	n, need := 0, 10
	for n < need {
		m, err := c.rw.Read(buf[n:])
		n += m
		if n >= 10 {
			size := binary.BigEndian.Uint32(buf[2:6])
			if size < 10 || size > maxResponse {
				return nil, fmt.Errorf("%w: answer of %d bytes", ErrTPM, size)
			}
			need = int(size)
		}
		if n < need && err != nil {
			return nil, fmt.Errorf("tpmseal: read: %w", err)
		}
	}
	return buf[:need], nil
}

// flush unloads a transient object; a failure only leaves it for the
// resource manager to flush when the connection closes.
func (c *conn) flush(h uint32) {
	_, _ = c.run(context.Background(), ccFlushContext, nil, u32(nil, h))
}

func u16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func u32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// tpm2b appends v with its 2-byte size.
func tpm2b(b, v []byte) []byte { return append(u16(b, uint16(len(v))), v...) }

// reader takes TPM structures off the front of b; err sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.err = io.ErrUnexpectedEOF
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) tpm2b() []byte {
	if len(r.b) < 2 || len(r.b) < 2+int(binary.BigEndian.Uint16(r.b)) {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	n := int(binary.BigEndian.Uint16(r.b))
	v := r.b[2 : 2+n]
	r.b = r.b[2+n:]
	return v
}
