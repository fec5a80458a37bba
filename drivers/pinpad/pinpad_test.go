package pinpad_test

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/des"
	"errors"
	"strings"
	"testing"
	"time"

	"kpos/drivers/pinpad"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/hal/fake"
)

// testKey is a TEST triple-DES PIN key; it protects nothing.
var testKey = []byte("TEST-KEY-NOT-FOR-USE-123")

// tdes encrypts PIN blocks under testKey and remembers the clear blocks it
// was handed, so the test can check that the PIN pad wiped them.
type tdes struct {
	block cipher.Block
	seen  [][]byte
}

func newTDES(t *testing.T) *tdes {
	b, err := des.NewTripleDESCipher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tdes{block: b}
}

func (c *tdes) EncryptPINBlock(clear []byte) ([]byte, error) {
	c.seen = append(c.seen, clear)
	out := make([]byte, len(clear))
	c.block.Encrypt(out, clear)
	return out, nil
}

func (c *tdes) KeySerial() []byte { return nil }

func (c *tdes) decrypt(t *testing.T, pan string, block []byte) string {
	t.Helper()
	clear := make([]byte, len(block))
	c.block.Decrypt(clear, block)
	pin, err := pinblock.Decode(clear, pan)
	if err != nil {
		t.Fatal(err)
	}
	return string(pin)
}

const testPAN = "6222021234567890123"

func TestPINBlock(t *testing.T) {
	type keys []hal.Key
	digits := func(s string) keys {
		var k keys
		for _, r := range s {
			k = append(k, hal.Key(r))
		}
		return k
	}
	cat := func(parts ...keys) keys {
		var all keys
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name     string
		keys     keys
		min, max int
		optional bool
		wantPIN  string
		wantErr  error
	}{
		{"four digits", cat(digits("7913"), keys{hal.KeyEnter}), 0, 0, false, "7913", nil},
		{"six digits", cat(digits("791350"), keys{hal.KeyEnter}), 0, 0, false, "791350", nil},
		{"too short then more", cat(digits("79"), keys{hal.KeyEnter}, digits("13"), keys{hal.KeyEnter}), 0, 0, false, "7913", nil},
		{"clear restarts", cat(digits("555"), keys{hal.KeyClear}, digits("7913"), keys{hal.KeyEnter}), 0, 0, false, "7913", nil},
		{"digits past max ignored", cat(digits("79135088"), keys{hal.KeyEnter}), 4, 6, false, "791350", nil},
		{"other keys ignored", cat(digits("79"), keys{hal.KeyUp, hal.KeyDot, hal.KeyMenu}, digits("13"), keys{hal.KeyEnter}), 0, 0, false, "7913", nil},
		{"min above request max", cat(digits("7913"), keys{hal.KeyEnter}, digits("50"), keys{hal.KeyEnter}), 6, 4, false, "791350", nil},
		{"cancel", cat(digits("79"), keys{hal.KeyCancel}), 0, 0, false, "", hal.ErrPINCancelled},
		{"bypass", keys{hal.KeyEnter}, 0, 0, true, "", hal.ErrPINBypassed},
		{"no bypass when required", cat(keys{hal.KeyEnter}, digits("7913"), keys{hal.KeyEnter}), 0, 0, false, "7913", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, disp, c := fake.NewKeypad(), fake.NewDisplay(), newTDES(t)
			kp.Press(tt.keys...)
			pad := pinpad.New(kp, disp, pinpad.Config{Timeout: 5 * time.Second})
			got, err := pad.PINBlock(context.Background(), hal.PINRequest{
				PAN: hal.MustPAN(testPAN), Amount: "CNY 12.34", MinLen: tt.min, MaxLen: tt.max, Cipher: c, Optional: tt.optional,
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if pin := c.decrypt(t, testPAN, got.Block); pin != tt.wantPIN {
					t.Errorf("PIN block holds %q, want %q", pin, tt.wantPIN)
				}
			}
			for _, clear := range c.seen {
				if !bytes.Equal(clear, make([]byte, len(clear))) {
					t.Error("clear PIN block not wiped after encryption")
				}
			}
			history := disp.History()
			if len(history) == 0 {
				t.Fatal("nothing shown")
			}
			for _, s := range history {
				text := s.String()
				if tt.wantPIN != "" && strings.Contains(strings.ReplaceAll(text, " ", ""), tt.wantPIN[:4]) {
					t.Errorf("screen shows PIN digits: %q", text)
				}
				if strings.Contains(text, testPAN) || strings.Contains(text, testPAN[:10]) {
					t.Errorf("screen shows the PAN: %q", text)
				}
			}
			if last := history[len(history)-1]; tt.wantErr == nil && !strings.Contains(last.String(), strings.Repeat("*", len(tt.wantPIN))) {
				t.Errorf("last screen %q lacks the stars", last)
			}
			if kp.Pending() != 0 {
				t.Errorf("%d keys left unread", kp.Pending())
			}
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	c := newTDES(t)
	req := hal.PINRequest{PAN: hal.MustPAN(testPAN), Cipher: c}

	pad := pinpad.New(fake.NewKeypad(), fake.NewDisplay(), pinpad.Config{Timeout: 20 * time.Millisecond})
	if _, err := pad.PINBlock(context.Background(), req); !errors.Is(err, hal.ErrPINTimeout) {
		t.Errorf("idle entry = %v, want hal.ErrPINTimeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pad = pinpad.New(fake.NewKeypad(), fake.NewDisplay(), pinpad.Config{Timeout: time.Minute})
	if _, err := pad.PINBlock(ctx, req); !errors.Is(err, context.Canceled) || errors.Is(err, hal.ErrPINTimeout) {
		t.Errorf("cancelled caller = %v, want context.Canceled", err)
	}

	if _, err := pad.PINBlock(context.Background(), hal.PINRequest{PAN: hal.MustPAN(testPAN)}); !errors.Is(err, pinpad.ErrNoCipher) {
		t.Errorf("no cipher = %v", err)
	}
}

// typeAhead is a keypad holding keys typed before the prompt, which Flush
// forgets.
type typeAhead struct {
	*fake.Keypad
	stale   []hal.Key
	flushed bool
}

func (k *typeAhead) Flush() { k.flushed = true }

func (k *typeAhead) Key(ctx context.Context) (hal.Key, error) {
	if !k.flushed && len(k.stale) > 0 {
		key := k.stale[0]
		k.stale = k.stale[1:]
		return key, nil
	}
	return k.Keypad.Key(ctx)
}

func TestTypeAheadFlushed(t *testing.T) {
	kp := &typeAhead{Keypad: fake.NewKeypad(), stale: []hal.Key{'0', '0', '0', '0', hal.KeyEnter}}
	kp.Type("7913")
	kp.Press(hal.KeyEnter)
	c := newTDES(t)
	got, err := pinpad.New(kp, fake.NewDisplay(), pinpad.Config{Timeout: 5 * time.Second}).
		PINBlock(context.Background(), hal.PINRequest{PAN: hal.MustPAN(testPAN), Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	if pin := c.decrypt(t, testPAN, got.Block); pin != "7913" {
		t.Errorf("PIN block holds %q: keys typed ahead were taken", pin)
	}
}
