package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

func mustSign(tb testing.TB, priv ed25519.PrivateKey, version, board string, payload []byte) []byte {
	tb.Helper()
	img, err := Sign(priv, version, board, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := testKeys(t)
	for _, size := range []int{0, 1, 1000, 200 << 10} {
		payload := make([]byte, size)
		rand.Read(payload)
		img := mustSign(t, priv, "1.2.3-rc.1+sim", "sim", payload)
		var got bytes.Buffer
		h, err := Verify(bytes.NewReader(img), pub, &got)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if h.Version != "1.2.3-rc.1+sim" || h.Board != "sim" || h.PayloadLen != uint64(size) {
			t.Errorf("size %d: header %+v", size, h)
		}
		if !bytes.Equal(got.Bytes(), payload) {
			t.Errorf("size %d: payload differs", size)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	pub, priv := testKeys(t)
	payload := bytes.Repeat([]byte("firmware"), 512)
	img := mustSign(t, priv, "2.0.0", "sim", payload)
	hdrLen := len(img) - len(payload) - SignatureSize
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	flip := func(i int) []byte {
		c := bytes.Clone(img)
		c[i] ^= 0x01
		return c
	}
	resign := mustSign(t, priv, "2.0.0", "sim", append(bytes.Clone(payload[:100]), 'x'))
	tests := []struct {
		name string
		img  []byte
		pub  ed25519.PublicKey
		want error
	}{
		// Whatever is changed, the signature is checked first, and is the
		// only answer.
		{"magic", flip(0), pub, ErrSignature},
		{"format", flip(len(Magic) + 1), pub, ErrSignature},
		{"header length", flip(len(Magic) + 3), pub, ErrSignature},
		{"version byte", flip(fixedHeader + 1), pub, ErrSignature},
		{"board byte", flip(fixedHeader + 1 + len("2.0.0") + 1), pub, ErrSignature},
		{"payload length", flip(hdrLen - 33), pub, ErrSignature},
		{"digest in header", flip(hdrLen - 1), pub, ErrSignature},
		{"payload first byte", flip(hdrLen), pub, ErrSignature},
		{"payload last byte", flip(len(img) - SignatureSize - 1), pub, ErrSignature},
		{"signature", flip(len(img) - 1), pub, ErrSignature},
		{"other key", img, otherPub, ErrSignature},
		{"trailing byte", append(bytes.Clone(img), 0), pub, ErrSignature},
		{"truncated in header", img[:fixedHeader+3], pub, ErrSignature},
		{"truncated in payload", img[:hdrLen+10], pub, ErrSignature},
		{"truncated in signature", img[:len(img)-1], pub, ErrSignature},
		{"empty", nil, pub, ErrSignature},
		{"signature from another image", append(bytes.Clone(img[:len(img)-SignatureSize]), resign[len(resign)-SignatureSize:]...), pub, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tt.img), tt.pub, io.Discard)
			if !errors.Is(err, tt.want) || err.Error() != tt.want.Error() {
				t.Fatalf("got %v, want only %v", err, tt.want)
			}
		})
	}
}

func TestHeaderValidation(t *testing.T) {
	tests := []struct {
		name string
		h    Header
	}{
		{"bad version", Header{Format: FormatVersion, Version: "1.2", Board: "sim"}},
		{"leading zero", Header{Format: FormatVersion, Version: "01.2.3", Board: "sim"}},
		{"empty board", Header{Format: FormatVersion, Version: "1.2.3"}},
		{"board with slash", Header{Format: FormatVersion, Version: "1.2.3", Board: "../x"}},
		{"format", Header{Format: 9, Version: "1.2.3", Board: "sim"}},
	}
	for _, tt := range tests {
		if _, err := tt.h.MarshalBinary(); err == nil {
			t.Errorf("%s: marshalled", tt.name)
		}
	}
}

func FuzzReadHeader(f *testing.F) {
	_, priv := testKeys(f)
	img := mustSign(f, priv, "1.0.0", "sim", []byte("payload"))
	f.Add(img)
	f.Add(img[:20])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, raw, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header does not marshal: %v", err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("header does not round-trip")
		}
	})
}

func FuzzVerify(f *testing.F) {
	pub, priv := testKeys(f)
	img := mustSign(f, priv, "1.0.0", "sim", []byte("payload"))
	f.Add(img)
	f.Add(img[:len(img)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		h, err := Verify(bytes.NewReader(b), pub, &out)
		if err != nil {
			return
		}
		// Only a genuinely signed image may pass.
		if uint64(out.Len()) != h.PayloadLen || !bytes.Equal(b, mustSign(t, priv, h.Version, h.Board, out.Bytes())) {
			t.Fatalf("accepted an image the test key did not sign")
		}
	})
}

func BenchmarkVerifyImage(b *testing.B) {
	pub, priv := testKeys(b)
	payload := make([]byte, 8<<20)
	rand.Read(payload)
	img := mustSign(b, priv, "1.0.0", "sim", payload)
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Verify(bytes.NewReader(img), pub, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(img))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }
