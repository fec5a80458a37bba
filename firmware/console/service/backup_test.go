package service

import (
	"strings"
	"testing"
)

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
