package original

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/hal"
)

func TestRRNKeepsTheHostsTwelveDigits(t *testing.T) {
	for typed, want := range map[string]string{"1234567": "000001234567", "123456789012": "123456789012"} {
		if got := RRN(typed); got != want {
			t.Errorf("RRN(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestOutsideWindow(t *testing.T) {
	if msg := OutsideWindow(fmt.Errorf("get: %w", journal.ErrOutsideWindow), 42, 90); !strings.Contains(msg, "000042") || !strings.Contains(msg, "90 days") {
		t.Errorf("archived: %q", msg)
	}
	for _, err := range []error{nil, journal.ErrNotFound, errors.New("disk")} {
		if msg := OutsideWindow(err, 42, 90); msg != "" {
			t.Errorf("%v: %q, want none", err, msg)
		}
	}
}

func TestRequestNamesTheOriginal(t *testing.T) {
	pan, err := hal.ParsePAN("6222021234567890128")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	o := journal.Txn{Trace: 7, Batch: 2, RRN: "000000000123", AuthCode: "A1B2C3", Created: created, Method: journal.Chip,
		Secret: journal.Sensitive{Expiry: "3012"}}
	r := Request(o, acquirer.KindVoid, 500, 156, pan)
	if r.OrigTrace != 7 || r.OrigBatch != 2 || r.OrigRRN != o.RRN || r.OrigAuth != o.AuthCode || r.OrigDate != "0304" ||
		r.Entry != acquirer.EntryManual || r.Expiry != "3012" || r.Amount != 500 || r.Kind != acquirer.KindVoid {
		t.Errorf("card original: %+v", r)
	}
	o.HostTime, o.Method = time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), journal.QR
	if r := Request(o, acquirer.KindVoid, 500, 156, hal.PAN{}); r.OrigDate != "0305" || r.Entry != acquirer.EntryQR {
		t.Errorf("QR original with the host's date: %+v", r)
	}
}
