package console

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card 6222021234567890128 ok", "card 622202*********0128 ok"},
		{"pan=4761739001010119;", "pan=476173******0119;"},
		{"6222021234567890127", "6222021234567890127"}, // fails Luhn: not a PAN
		{"rrn 633012000001 trace 000001", "rrn 633012000001 trace 000001"},
		{"tmk 11111111111111112222222222222222 end", "tmk [redacted] end"},
		{"key=0123456789abcdefFEDCBA9876543210AA", "key=[redacted]"},
		{"kcv 82E136", "kcv 82E136"},
		{"abc6222021234567890128def", "abc622202*********0128def"},
		{"测试 6250998765432109871", "测试 625099*********9871"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if f := findSecrets(Redact(tt.in)); len(f) > 0 {
			t.Errorf("Redact(%q) still holds %v", tt.in, f)
		}
	}
}

// The transcript scanner must catch what it is there to catch.
func TestFindSecrets(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"sale 6222021234567890128 approved", 1},
		{"visa 4761739001010119", 1},
		{"TMK 11111111111111112222222222222222", 1},
		{"pin block 0412AC89ABCDEF67 and 0123456789ABCDEFFEDCBA9876543210", 1},
		{"masked 622202*********0128, kcv D2B91C, rrn 633012000001", 0},
		{"timestamp 20261122093000123", 0}, // 17 digits failing Luhn
		{strings.Repeat("9", 25), 0},       // longer than any PAN
	}
	for _, tt := range tests {
		if got := findSecrets(tt.text); len(got) != tt.want {
			t.Errorf("%q: found %v, want %d", tt.text, got, tt.want)
		}
	}
}

func TestWrapAndTable(t *testing.T) {
	long := strings.Repeat("word ", 40)
	for _, l := range strings.Split(wrap(long, Width), "\n") {
		if textWidth(l) > Width {
			t.Errorf("wrapped line too wide: %q", l)
		}
	}
	tb := table(Width, []string{"A", "CARD", "NOTE"}, [][]string{{"1", "622202*********0128", strings.Repeat("x", 100)}}, nil, []int{1})
	for _, l := range strings.Split(strings.TrimSpace(tb), "\n") {
		if textWidth(l) > Width {
			t.Errorf("table line too wide: %q", l)
		}
	}
	if !strings.Contains(tb, "622202*********0128") || !strings.Contains(tb, "x~") {
		t.Errorf("table did not keep the card or cut the note:\n%s", tb)
	}
	// A cut never leaves a PAN fragment that escapes redaction.
	if got := cut("code 6222021234567890128", 20); strings.Contains(got, "62220212") {
		t.Errorf("cut leaked digits: %q", got)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"status", "settle", "journal", "passwd", "perf", "priv", "param"}
	tests := []struct{ in, want string }{
		{"stauts", "status"}, {"statsu", "status"}, {"jurnal", "journal"}, {"setle", "settle"},
		{"xyzzy", ""}, {"pr", "priv"}, {"jour", "journal"},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, names); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBackupEnvelope(t *testing.T) {
	payload := []byte(`{"journal":[1,2,3]}`)
	sealed := sealBackup(payload)
	got, err := openBackup(sealed, 1<<20)
	if err != nil || string(got) != string(payload) {
		t.Fatalf("%q %v", got, err)
	}
	back, err := dearmor(strings.Split(armor(sealed), "\n"))
	if err != nil || string(back) != string(sealed) {
		t.Fatalf("armor round trip: %v", err)
	}
	if _, err := openBackup(sealed, 5); err == nil {
		t.Error("limit ignored")
	}
}

func FuzzOpenBackup(f *testing.F) {
	f.Add(sealBackup([]byte("payload")))
	f.Add([]byte("KPOS-BACKUP 1\nlength: 3\nsha256: x\n\nabc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := openBackup(b, 1<<20)
		if err != nil {
			return
		}
		if string(sealBackup(p)) != string(b) {
			t.Fatalf("accepted a backup that is not its own sealing")
		}
	})
}

func TestRedactJSON(t *testing.T) {
	in := map[string]any{
		"text":                "card 6222021234567890128",
		"number":              json.Number("4761739001010119"),
		"plain":               42,
		"list":                []string{"0123456789ABCDEFFEDCBA9876543210"},
		"6250998765432109871": true,
	}
	b, err := redactJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("redacted JSON does not parse: %v\n%s", err, b)
	}
	if f := findSecrets(string(b)); len(f) > 0 {
		t.Errorf("secrets left: %v\n%s", f, b)
	}
	if back["number"] != "476173******0119" || back["plain"] != float64(42) || back["text"] != "card 622202*********0128" {
		t.Errorf("redacted: %s", b)
	}
}

// A modem's reply keeps its shape, and no run of 14 digits or more (an
// ICCID, IMSI or IMEI) survives whole.
func FuzzMaskIdentities(f *testing.F) {
	for _, s := range []string{"+QCCID: 89860000000000000001", "460000000000001", "+CSQ: 24,99", "12345678901234x5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := maskIdentities(line)
		if len(got) != len(line) {
			t.Fatalf("%q became %q: length changed", line, got)
		}
		run := 0
		for i := 0; i < len(got); i++ {
			if got[i] >= '0' && got[i] <= '9' {
				run++
				if run >= 14 {
					t.Fatalf("%q became %q: a long number is shown", line, got)
				}
			} else {
				run = 0
			}
		}
	})
}
