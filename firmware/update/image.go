package update

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
)

// Magic opens every firmware image.
const Magic = "KPOSFWIM"

// FormatVersion is the image layout this package writes and reads.
const FormatVersion = 1

// SignatureSize is the length of the trailing Ed25519 signature.
const SignatureSize = ed25519.SignatureSize

// signContext separates firmware signatures from any other use of the key
// (Ed25519ph context string, RFC 8032 section 5.1).
const signContext = "kpos firmware image v1"

// maxHeader bounds the header so that a hostile length cannot make the
// terminal allocate.
const maxHeader = 1024

// fixedHeader is magic, format and header length.
const fixedHeader = len(Magic) + 2 + 2

// Errors an image check returns; callers branch on them.
var (
	ErrFormat    = errors.New("update: not a kpos firmware image")
	ErrTruncated = errors.New("update: image truncated")
	ErrDigest    = errors.New("update: payload digest mismatch")
	ErrSignature = errors.New("update: bad image signature")
)

// Header describes an image. It is signed together with the payload.
type Header struct {
	Format     uint16   // FormatVersion
	Version    string   // firmware version, semantic versioning
	Board      string   // board the image is built for
	PayloadLen uint64   // bytes of payload after the header
	SHA256     [32]byte // SHA-256 of the payload
}

// MarshalBinary encodes the header in the image layout:
// magic, format (u16), header length (u16), version (u8 length + bytes),
// board (u8 length + bytes), payload length (u64), payload SHA-256; all
// integers big-endian.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	n := fixedHeader + 1 + len(h.Version) + 1 + len(h.Board) + 8 + sha256.Size
	b := make([]byte, 0, n)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, h.Format)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, byte(len(h.Version)))
	b = append(b, h.Version...)
	b = append(b, byte(len(h.Board)))
	b = append(b, h.Board...)
	b = binary.BigEndian.AppendUint64(b, h.PayloadLen)
	b = append(b, h.SHA256[:]...)
	return b, nil
}

func (h Header) validate() error {
	if h.Format != FormatVersion {
		return fmt.Errorf("%w: format %d, want %d", ErrFormat, h.Format, FormatVersion)
	}
	if _, err := ParseVersion(h.Version); err != nil {
		return err
	}
	if err := validBoard(h.Board); err != nil {
		return err
	}
	return nil
}

func validBoard(b string) error {
	if len(b) == 0 || len(b) > 64 {
		return fmt.Errorf("%w: board name must be 1 to 64 characters", ErrFormat)
	}
	for _, c := range []byte(b) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("%w: board name %q has a character outside [A-Za-z0-9._-]", ErrFormat, b)
		}
	}
	return nil
}

// ReadHeader reads and decodes an image header from r and returns it with
// its raw bytes (which the signature covers).
func ReadHeader(r io.Reader) (Header, []byte, error) {
	fixed := make([]byte, fixedHeader)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return Header{}, nil, truncated(err)
	}
	if string(fixed[:len(Magic)]) != Magic {
		return Header{}, nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	var h Header
	h.Format = binary.BigEndian.Uint16(fixed[len(Magic):])
	if h.Format != FormatVersion {
		return Header{}, nil, fmt.Errorf("%w: format %d, want %d", ErrFormat, h.Format, FormatVersion)
	}
	n := int(binary.BigEndian.Uint16(fixed[len(Magic)+2:]))
	minLen := fixedHeader + 1 + 1 + 8 + sha256.Size
	if n < minLen || n > maxHeader {
		return Header{}, nil, fmt.Errorf("%w: header length %d", ErrFormat, n)
	}
	raw := make([]byte, n)
	copy(raw, fixed)
	if _, err := io.ReadFull(r, raw[fixedHeader:]); err != nil {
		return Header{}, nil, truncated(err)
	}
	rest := raw[fixedHeader:]
	str := func(what string) (string, error) {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return "", fmt.Errorf("%w: %s overruns the header", ErrFormat, what)
		}
		s := string(rest[1 : 1+int(rest[0])])
		rest = rest[1+int(rest[0]):]
		return s, nil
	}
	var err error
	if h.Version, err = str("version"); err != nil {
		return Header{}, nil, err
	}
	if h.Board, err = str("board"); err != nil {
		return Header{}, nil, err
	}
	if len(rest) != 8+sha256.Size {
		return Header{}, nil, fmt.Errorf("%w: header length does not match its fields", ErrFormat)
	}
	h.PayloadLen = binary.BigEndian.Uint64(rest)
	copy(h.SHA256[:], rest[8:])
	if err := h.validate(); err != nil {
		return Header{}, nil, err
	}
	return h, raw, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return fmt.Errorf("update: reading image: %w", err)
}

// Sign builds a signed image from a payload. It is used by tools/fwsign and by
// tests; the terminal never holds a private key.
func Sign(priv ed25519.PrivateKey, version, board string, payload []byte) ([]byte, error) {
	h := Header{Format: FormatVersion, Version: version, Board: board, PayloadLen: uint64(len(payload)), SHA256: sha256.Sum256(payload)}
	hdr, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	pre := sha512.New()
	pre.Write(hdr)
	pre.Write(payload)
	sig, err := priv.Sign(nil, pre.Sum(nil), &ed25519.Options{Hash: crypto.SHA512, Context: signContext})
	if err != nil {
		return nil, fmt.Errorf("update: signing: %w", err)
	}
	img := make([]byte, 0, len(hdr)+len(payload)+len(sig))
	img = append(img, hdr...)
	img = append(img, payload...)
	return append(img, sig...), nil
}

// Verify reads a whole image from r, copies its payload to dst and returns
// the header once the signature has been checked, and only then the header's
// fields: the payload length, the digest. dst sees unverified bytes: write it
// somewhere the terminal will not run until Verify has returned nil.
//
// Nothing in the header is believed before the signature: an image that is
// not one the key signed, whatever was changed in it (header, payload,
// signature, bytes cut off or added), is refused with ErrSignature alone.
func Verify(r io.Reader, pub ed25519.PublicKey, dst io.Writer) (Header, error) {
	return verify(r, pub, dst, math.MaxInt64, nil)
}

// verify is Verify with a bound on the payload's real size (ErrTooLarge
// past it) and progress, called with the payload bytes written so far and
// the length of what came before them.
func verify(r io.Reader, pub ed25519.PublicKey, dst io.Writer, maxPayload int64, progress func(written, header int64)) (Header, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Header{}, fmt.Errorf("update: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	readFull := func(b []byte) (int, error) {
		n, err := io.ReadFull(r, b)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil // a short image fails its signature below
		} else if err != nil {
			err = fmt.Errorf("update: reading image: %w", err)
		}
		return n, err
	}
	// The header length only says where the payload starts, and the
	// signature covers header and payload as one run of bytes: a length
	// out of range cannot be one the key signed, and is left to fail there.
	raw := make([]byte, fixedHeader, maxHeader)
	n, err := readFull(raw)
	if err != nil {
		return Header{}, err
	}
	raw = raw[:n]
	if n == fixedHeader {
		if l := int(binary.BigEndian.Uint16(raw[len(Magic)+2:])); l > fixedHeader && l <= maxHeader {
			raw = raw[:l]
			m, err := readFull(raw[fixedHeader:])
			if err != nil {
				return Header{}, err
			}
			raw = raw[:fixedHeader+m]
		}
	}
	pre := sha512.New() // Ed25519ph over header and payload
	sum := sha256.New() // the payload's digest, checked once the header is proven
	pre.Write(raw)

	// The payload streams to dst with the last SignatureSize bytes held
	// back: when the image ends they are the signature.
	var payload int64
	tail := make([]byte, 0, 64<<10+SignatureSize)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		tail = append(tail, buf[:n]...)
		if out := len(tail) - SignatureSize; out > 0 {
			payload += int64(out)
			if payload > maxPayload {
				return Header{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxPayload)
			}
			pre.Write(tail[:out])
			sum.Write(tail[:out])
			if _, werr := dst.Write(tail[:out]); werr != nil {
				return Header{}, fmt.Errorf("update: writing payload: %w", werr)
			}
			tail = append(tail[:0], tail[out:]...)
		}
		if progress != nil && n > 0 {
			progress(payload, int64(len(raw)))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Header{}, fmt.Errorf("update: reading image: %w", err)
		}
	}
	if len(tail) != SignatureSize || ed25519.VerifyWithOptions(pub, pre.Sum(nil), tail, &ed25519.Options{Hash: crypto.SHA512, Context: signContext}) != nil {
		return Header{}, ErrSignature
	}

	// From here on the header is the signer's: a fault in it is the
	// signer's mistake, not tampering.
	h, _, err := ReadHeader(bytes.NewReader(raw))
	if err != nil {
		return Header{}, fmt.Errorf("%w (signed): %v", ErrFormat, err)
	}
	if h.PayloadLen != uint64(payload) {
		return Header{}, fmt.Errorf("%w (signed): header says %d payload bytes, image has %d", ErrFormat, h.PayloadLen, payload)
	}
	if !bytes.Equal(sum.Sum(nil), h.SHA256[:]) {
		return Header{}, ErrDigest
	}
	return h, nil
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" block (PKIX, Ed25519). Text
// before the block, such as a TEST ONLY warning, is ignored.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("update: no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("update: parsing public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("update: public key is %T, want Ed25519", k)
	}
	return pub, nil
}

// ParsePrivateKey decodes a PEM "PRIVATE KEY" block (PKCS #8, Ed25519).
func ParsePrivateKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("update: no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("update: parsing private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("update: private key is %T, want Ed25519", k)
	}
	return priv, nil
}

// MarshalPublicKey encodes pub as a PEM PUBLIC KEY block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("update: encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPrivateKey encodes priv as a PEM PRIVATE KEY block.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("update: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
