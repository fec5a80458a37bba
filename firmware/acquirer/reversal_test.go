package acquirer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/hal"
)

// TestReversalCauseCodes: each cause gives the dialect's reason code, and a
// failed exchange maps to its cause by its type, never by its words.
func TestReversalCauseCodes(t *testing.T) {
	codes := map[ReversalCause]string{CauseNoAnswer: "98", CauseBadMAC: "A0", CauseCardDeclined: "06",
		CauseTerminalFailure: "96", ReversalCause(200): "96"}
	for c, want := range codes {
		if got := c.Code(); got != want {
			t.Errorf("%v: %s, want %s", c, got, want)
		}
	}
	errs := []struct {
		err  error
		want ReversalCause
	}{
		{fmt.Errorf("read: %w", ErrNoAnswer), CauseNoAnswer},
		{fmt.Errorf("%w: %w", ErrNoAnswer, ErrMAC), CauseBadMAC},
		{fmt.Errorf("%w: %w", ErrNoAnswer, ErrFrame), CauseNoAnswer},
		{errors.New("no answer: timeout"), CauseTerminalFailure}, // words are not a cause
		{nil, CauseTerminalFailure},
	}
	for _, e := range errs {
		if got := CauseOf(e.err); got != e.want {
			t.Errorf("CauseOf(%v) = %v, want %v", e.err, got, e.want)
		}
	}
}

// TestReversalKeepsTheOriginalsEntryMode: field 22 of a reversal is the
// original's, PIN digit included, though the reversal carries no PIN block;
// field 39 is the cause's code.
func TestReversalKeepsTheOriginalsEntryMode(t *testing.T) {
	c := NewCodec()
	id := Identity{TID: "12345678", MID: "898320154110001"}
	base := Request{Kind: KindSale, Trace: 23, Batch: 1, Amount: 5588, Currency: 156, PAN: hal.MustPAN("6222021234567890128"),
		Expiry: "3012", PANSeq: "01", Time: time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		entry EntryMode
		pin   bool
		cause ReversalCause
	}{
		{"chip with PIN", EntryChip, true, CauseNoAnswer},
		{"chip without PIN", EntryChip, false, CauseCardDeclined},
		{"contactless with PIN", EntryContactless, true, CauseBadMAC},
		{"stripe with PIN", EntryStripe, true, CauseTerminalFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := base
			orig.Entry = tt.entry
			if tt.pin {
				orig.PIN = &hal.PINBlock{Block: make([]byte, 8)}
			}
			om := packed(t, c, func() (*iso8583.Message, error) { return BuildRequest(c, orig, id, "") })
			// The reversal built from the original request, and from the
			// journal's copy (no PIN block, PINEntered).
			fromJournal := orig
			fromJournal.PIN, fromJournal.PINEntered = nil, tt.pin
			for _, o := range []Request{orig, fromJournal} {
				rm := packed(t, c, func() (*iso8583.Message, error) { return BuildReversal(c, o, id, tt.cause) })
				if a, b := FieldString(om, 22), FieldString(rm, 22); a != b || a == "" {
					t.Fatalf("field 22: original %q, reversal %q", a, b)
				}
				if FieldString(rm, 52) != "" || FieldString(rm, 53) != "" {
					t.Fatal("a reversal with PIN data")
				}
				if got := FieldString(rm, 39); got != tt.cause.Code() {
					t.Fatalf("field 39 %q, want %q", got, tt.cause.Code())
				}
			}
		})
	}
}

// packed builds a message and returns it as the peer reads it.
func packed(t *testing.T, c *Codec, build func() (*iso8583.Message, error)) *iso8583.Message {
	t.Helper()
	m, err := build()
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.Pack(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Unpack(body)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
