package emv

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/genac"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
	"kpos/hal/fake"
)

// stepSession returns a session positioned after the records of the
// debit application, for step-level tests.
func stepSession(t *testing.T, cfg emvconfig.Config, card hal.Card, txn Transaction, ch Cardholder, icc map[tlv.Tag]string) *session {
	t.Helper()
	if card == nil {
		card = &fake.PlaybackCard{}
	}
	s := testKernel(t, cfg).newSession(card, txn, ch)
	s.aid = &s.k.cfg.AIDs[0]
	s.adf = clone(s.aid.AID)
	s.aip = [2]byte{0x1C, 0x00}
	for k, v := range icc {
		s.icc[k] = mustHex(v)
	}
	return s
}

func TestCardholderVerification(t *testing.T) {
	base := map[tlv.Tag]string{0x5A: upPAN, 0x9F42: "0156"}
	tests := []struct {
		name    string
		list    string // 8E, "" for none
		aip     byte
		txn     Transaction
		caps    byte // 9F33 byte 2, 0 for the shipped E068C8
		pinErr  error
		cvm     CVM
		cvmr    string
		tvr     string
		tsi     string
		sig     bool
		wantErr error
	}{
		{name: "online PIN", list: cvmOnline, txn: sale(10000), cvm: CVMOnlinePIN, cvmr: "420300", tvr: "0000040000", tsi: "4000"},
		{name: "PIN bypassed: next rule signature", list: cvmOnline, txn: sale(10000), pinErr: hal.ErrPINBypassed, cvm: CVMSignature, cvmr: "1E0300", tvr: "0000080000", tsi: "4000", sig: true},
		{name: "PIN pad broken: next rule", list: cvmOnline, txn: sale(10000), pinErr: errors.New("pinpad: dead"), cvm: CVMSignature, cvmr: "1E0300", tvr: "0000100000", tsi: "4000", sig: true},
		{name: "PIN cancelled ends the transaction", list: cvmOnline, txn: sale(10000), pinErr: hal.ErrPINCancelled, wantErr: ErrCancelled},
		{name: "online PIN not supported by the terminal: signature", list: cvmOnline, txn: sale(10000), caps: 0x28, cvm: CVMSignature, cvmr: "1E0300", tvr: "0000000000", tsi: "4000", sig: true},
		{name: "no CVM list: ICC data missing", list: "", txn: sale(10000), cvm: CVMFailed, cvmr: "3F0001", tvr: "2000800000", tsi: "4000"},
		{name: "CVM not supported by the card (AIP)", list: cvmOnline, aip: 0x0C, txn: sale(10000), cvm: CVMNone, cvmr: "3F0000", tvr: "0000000000", tsi: "0000"},
		{name: "unrecognised CVM without apply-next fails", list: "00000000 00000000 0D00 1F00", txn: sale(10000), cvm: CVMFailed, cvmr: "0D0001", tvr: "0000C00000", tsi: "4000"},
		{name: "unrecognised CVM with apply-next continues", list: "00000000 00000000 4D00 1F00", txn: sale(10000), cvm: CVMNone, cvmr: "1F0002", tvr: "0000400000", tsi: "4000"},
		{name: "fail CVM rule", list: "00000000 00000000 0000", txn: sale(10000), cvm: CVMFailed, cvmr: "000001", tvr: "0000800000", tsi: "4000"},
		{name: "offline PIN only: fails (PIN pad cannot do it)", list: "00000000 00000000 0100", txn: sale(10000), caps: 0xE8, cvm: CVMFailed, cvmr: "010001", tvr: "0000900000", tsi: "4000"},
		{name: "under X: no CVM", list: "00002710 00000000 1F06 4208", txn: sale(5000), cvm: CVMNone, cvmr: "1F0602", tvr: "0000000000", tsi: "4000"},
		{name: "over X: online PIN", list: "00002710 00000000 1F06 4207", txn: sale(20000), cvm: CVMOnlinePIN, cvmr: "420700", tvr: "0000040000", tsi: "4000"},
		{name: "under Y: signature", list: "00000000 00004E20 1E08 4209", txn: sale(10000), cvm: CVMSignature, cvmr: "1E0800", tvr: "0000000000", tsi: "4000", sig: true},
		{name: "amount conditions need the application currency", list: "00002710 00000000 1F06 1E00", txn: Transaction{Type: Purchase, Amount: 100, Currency: 840, Country: 156}, cvm: CVMSignature, cvmr: "1E0000", tsi: "4000", tvr: "0000000000", sig: true},
		{name: "cashback condition", list: "00000000 00000000 4205 1F00", txn: Transaction{Type: Purchase, Amount: 100, OtherAmount: 50, Currency: 156, Country: 156}, cvm: CVMOnlinePIN, cvmr: "420500", tvr: "0000040000", tsi: "4000"},
		{name: "manual cash condition", list: "00000000 00000000 4204 1F00", txn: Transaction{Type: Cash, Amount: 100, Currency: 156, Country: 156}, cvm: CVMOnlinePIN, cvmr: "420400", tvr: "0000040000", tsi: "4000"},
		{name: "no condition satisfied", list: "00000000 00000000 4201", txn: sale(100), cvm: CVMFailed, cvmr: "3F0001", tvr: "0000800000", tsi: "4000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.caps != 0 {
				cfg.Terminal.Capabilities[1] = tc.caps
			}
			icc := map[tlv.Tag]string{}
			for k, v := range base {
				icc[k] = v
			}
			if tc.list != "" {
				icc[0x8E] = tc.list
			}
			ch := &cardholder{pinErr: tc.pinErr}
			s := stepSession(t, cfg, nil, tc.txn, ch, icc)
			if tc.aip != 0 {
				s.aip[0] = tc.aip
			}
			err := s.cardholderVerification(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.cvm != tc.cvm || hexs(s.cvmr[:]) != tc.cvmr || s.signature != tc.sig {
				t.Errorf("cvm %v results %X signature %v, want %v %s %v", s.cvm, s.cvmr, s.signature, tc.cvm, tc.cvmr, tc.sig)
			}
			assertTVR(t, s.tvr, tc.tvr)
			assertTSI(t, s.tsi, tc.tsi)
		})
	}
}

func TestProcessingRestrictions(t *testing.T) {
	tests := []struct {
		name string
		icc  map[tlv.Tag]string
		txn  Transaction
		tvr  string
	}{
		{"all fine", map[tlv.Tag]string{0x9F08: "0030", 0x9F07: "FF00", 0x5F28: "0156", 0x5F25: "200101", 0x5F24: "301231"}, sale(100), "0000000000"},
		{"other version", map[tlv.Tag]string{0x9F08: "0040"}, sale(100), "0080000000"},
		{"second configured version", map[tlv.Tag]string{0x9F08: "0020"}, sale(100), "0000000000"},
		{"expired", map[tlv.Tag]string{0x5F24: "261121"}, sale(100), "0040000000"},
		{"expires today is fine", map[tlv.Tag]string{0x5F24: "261122"}, sale(100), "0000000000"},
		{"not yet effective", map[tlv.Tag]string{0x5F25: "261123"}, sale(100), "0020000000"},
		{"domestic goods not allowed", map[tlv.Tag]string{0x9F07: "D700", 0x5F28: "0156"}, sale(100), "0010000000"},
		{"international goods allowed, domestic card abroad", map[tlv.Tag]string{0x9F07: "1100", 0x5F28: "0840"}, sale(100), "0000000000"},
		{"international cash not allowed", map[tlv.Tag]string{0x9F07: "BF00", 0x5F28: "0840"}, Transaction{Type: Cash, Amount: 100, Currency: 156, Country: 156}, "0010000000"},
		{"not valid at non-ATM terminals", map[tlv.Tag]string{0x9F07: "FE00"}, sale(100), "0010000000"},
		{"cashback not allowed", map[tlv.Tag]string{0x9F07: "FF40", 0x5F28: "0156"}, Transaction{Type: Purchase, Amount: 100, OtherAmount: 10, Currency: 156, Country: 156}, "0010000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.txn.Time = testTime
			s := stepSession(t, testConfig(t), nil, tc.txn, nil, tc.icc)
			s.processingRestrictions()
			assertTVR(t, s.tvr, tc.tvr)
		})
	}
}

func TestTerminalRiskManagement(t *testing.T) {
	velocityICC := map[tlv.Tag]string{0x9F14: "03", 0x9F23: "05"}
	tests := []struct {
		name   string
		amount int64
		edit   func(*emvconfig.AIDConfig)
		icc    map[tlv.Tag]string
		rnd    string
		script []fake.Exchange
		tvr    string
	}{
		{name: "floor limit zero: exceeded", amount: 100, tvr: "0000008000"},
		{name: "card on the exception file", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: map[tlv.Tag]string{0x5A: upPAN}, tvr: "1000000000"},
		{name: "other card not on the exception file", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: map[tlv.Tag]string{0x5A: "4761739001010119"}, tvr: "0000000000"},
		{name: "under the floor limit", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, tvr: "0000000000"},
		{name: "random selection hits", amount: 100, rnd: "0000", edit: func(a *emvconfig.AIDConfig) { a.FloorLimit, a.RandomTarget, a.RandomMax = 1000, 10, 50 }, tvr: "0000001000"},
		{name: "random selection misses", amount: 100, rnd: "0062", edit: func(a *emvconfig.AIDConfig) { a.FloorLimit, a.RandomTarget, a.RandomMax = 1000, 10, 50 }, tvr: "0000000000"},
		// Above the threshold the probability grows towards the maximum:
		// 10 + (50-10)*(900-500)/(1000-500) = 42; the number drawn is 0x28%99+1 = 41.
		{name: "biased random selection", amount: 900, rnd: "0028", edit: func(a *emvconfig.AIDConfig) {
			a.FloorLimit, a.RandomThreshold, a.RandomTarget, a.RandomMax = 1000, 500, 10, 50
		}, tvr: "0000001000"},
		{name: "velocity within limits", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: velocityICC,
			script: []fake.Exchange{x("80CA9F3600", ok(T(0x9F36, "0012"))), x("80CA9F1300", ok(T(0x9F13, "0010")))}, tvr: "0000000000"},
		{name: "lower offline limit exceeded", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: velocityICC,
			script: []fake.Exchange{x("80CA9F3600", ok(T(0x9F36, "0014"))), x("80CA9F1300", ok(T(0x9F13, "0010")))}, tvr: "0000004000"},
		{name: "upper offline limit exceeded", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: velocityICC,
			script: []fake.Exchange{x("80CA9F3600", ok(T(0x9F36, "0016"))), x("80CA9F1300", ok(T(0x9F13, "0010")))}, tvr: "0000006000"},
		{name: "new card", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: velocityICC,
			script: []fake.Exchange{x("80CA9F3600", ok(T(0x9F36, "0001"))), x("80CA9F1300", ok(T(0x9F13, "0000")))}, tvr: "0008000000"},
		{name: "GET DATA refused: both limits exceeded", amount: 100, edit: func(a *emvconfig.AIDConfig) { a.FloorLimit = 1000 }, icc: velocityICC,
			script: []fake.Exchange{x("80CA9F3600", sw("6A88")), x("80CA9F1300", sw("6A88"))}, tvr: "0000006000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg.AIDs[0])
			}
			cfg.Exceptions = map[[32]byte]bool{sha256.Sum256([]byte("6222021234567890128")): true}
			card := &fake.PlaybackCard{Script: tc.script}
			s := stepSession(t, cfg, card, sale(tc.amount), nil, tc.icc)
			if tc.rnd != "" {
				s.k.rnd = fixedRand{mustHex(tc.rnd)}
			}
			if err := s.terminalRiskManagement(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			assertTVR(t, s.tvr, tc.tvr)
			assertTSI(t, s.tsi, "0800")
		})
	}
}

func TestTerminalActionAnalysis(t *testing.T) {
	tests := []struct {
		name  string
		tvr   string
		iac   []string // default, denial, online; nil for absent
		force bool
		typ   TxnType
		ttype byte
		want  byte
	}{
		{name: "clean TVR: TC", tvr: "0000000000", iac: []string{"0000000000", "0000000000", "0000000000"}, want: genac.TC},
		{name: "absent IAC online means online", tvr: "0000000000", want: genac.TC},
		{name: "absent IAC online with any bit", tvr: "0000000001", want: genac.ARQC},
		{name: "TAC online", tvr: "0000008000", iac: []string{"0000000000", "0000000000", "0000000000"}, want: genac.ARQC},
		{name: "IAC denial", tvr: "0000400000", iac: []string{"0000000000", "0000400000", "0000000000"}, want: genac.AAC},
		{name: "TAC denial", tvr: "0010000000", want: genac.AAC},
		{name: "forced online", tvr: "0000000000", iac: []string{"0000000000", "0000000000", "0000000000"}, force: true, want: genac.ARQC},
		{name: "balance inquiry goes online", tvr: "0000000000", iac: []string{"0000000000", "0000000000", "0000000000"}, typ: Balance, want: genac.ARQC},
		{name: "offline-only terminal: default action", tvr: "0000008000", iac: []string{"0000000000", "0000000000", "0000000000"}, ttype: 0x23, want: genac.AAC},
		{name: "offline-only terminal: default clean", tvr: "0000000000", iac: []string{"0000000000", "0000000000", "0000000000"}, ttype: 0x23, want: genac.TC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.ttype != 0 {
				cfg.Terminal.Type = tc.ttype
			}
			icc := map[tlv.Tag]string{}
			if tc.iac != nil {
				icc[0x9F0D], icc[0x9F0E], icc[0x9F0F] = tc.iac[0], tc.iac[1], tc.iac[2]
			}
			txn := sale(100)
			txn.ForceOnline, txn.Type = tc.force, tc.typ
			s := stepSession(t, cfg, nil, txn, nil, icc)
			copy(s.tvr[:], mustHex(tc.tvr))
			if got := s.terminalActionAnalysis(); got != tc.want {
				t.Errorf("requested %02X, want %02X", got, tc.want)
			}
			if tc.force && !s.tvr.Has(status.TVRMerchantForcedOnline) {
				t.Error("merchant forced online not set")
			}
		})
	}
}

// pinPad is a cardholder whose test PIN pad sends VERIFY itself with a
// fixed test PIN block (PIN 1234, ISO 9564 format 2).
type pinPad struct {
	cardholder
	calls []int
}

func (p *pinPad) VerifyOfflinePIN(ctx context.Context, card hal.Card, triesLeft int) (uint16, error) {
	p.calls = append(p.calls, triesLeft)
	r, err := card.Transmit(ctx, mustHex("0020008008 241234FFFFFFFFFF"))
	if err != nil {
		return 0, err
	}
	if len(r) < 2 {
		return 0, errors.New("short answer")
	}
	return uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1]), nil
}

func TestOfflinePIN(t *testing.T) {
	const (
		getPTC = "80CA9F1700"
		verify = "0020008008 241234FFFFFFFFFF"
	)
	tests := []struct {
		name     string
		list     string
		script   []fake.Exchange
		noPad    bool
		cvm      CVM
		cvmr     string
		tvr      string
		calls    []int
		sig      bool
		lowTries bool
	}{
		{name: "right PIN", list: "00000000 00000000 0100", script: []fake.Exchange{x(getPTC, ok(T(0x9F17, "03"))), x(verify, sw("9000"))},
			cvm: CVMOfflinePIN, cvmr: "010002", tvr: "0000000000", calls: []int{3}},
		{name: "wrong, then right", list: "00000000 00000000 0100", script: []fake.Exchange{x(getPTC, ok(T(0x9F17, "03"))), x(verify, sw("63C2")), x(verify, sw("9000"))},
			cvm: CVMOfflinePIN, cvmr: "010002", tvr: "0000000000", calls: []int{3, 2}},
		{name: "PIN and signature", list: "00000000 00000000 0300", script: []fake.Exchange{x(getPTC, ok(T(0x9F17, "03"))), x(verify, sw("9000"))},
			cvm: CVMOfflinePIN, cvmr: "030000", tvr: "0000000000", calls: []int{3}, sig: true},
		{name: "tries run out: next rule signature", list: "00000000 00000000 4100 1E00",
			script: []fake.Exchange{x(getPTC, ok(T(0x9F17, "02"))), x(verify, sw("63C1")), x(verify, sw("63C0"))},
			cvm:    CVMSignature, cvmr: "1E0000", tvr: "0000200000", calls: []int{2, 1}, sig: true, lowTries: true},
		{name: "already blocked: no VERIFY", list: "00000000 00000000 0100", script: []fake.Exchange{x(getPTC, ok(T(0x9F17, "00")))},
			cvm: CVMFailed, cvmr: "010001", tvr: "0000A00000"},
		{name: "PIN try counter unknown", list: "00000000 00000000 0100", script: []fake.Exchange{x(getPTC, sw("6A88")), x(verify, sw("6983"))},
			cvm: CVMFailed, cvmr: "010001", tvr: "0000A00000", calls: []int{-1}},
		{name: "PIN pad cannot do offline PIN", list: "00000000 00000000 0100", noPad: true,
			cvm: CVMFailed, cvmr: "010001", tvr: "0000900000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Terminal.Capabilities[1] = 0xE8
			card := &fake.PlaybackCard{Script: tc.script}
			pad := &pinPad{}
			var ch Cardholder = pad
			if tc.noPad {
				ch = &pad.cardholder
			}
			s := stepSession(t, cfg, card, sale(100), ch, map[tlv.Tag]string{0x5A: upPAN, 0x8E: tc.list})
			if err := s.cardholderVerification(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			if s.cvm != tc.cvm || hexs(s.cvmr[:]) != tc.cvmr || s.signature != tc.sig {
				t.Errorf("cvm %v results %X signature %v, want %v %s %v", s.cvm, s.cvmr, s.signature, tc.cvm, tc.cvmr, tc.sig)
			}
			assertTVR(t, s.tvr, tc.tvr)
			if len(pad.calls) != len(tc.calls) {
				t.Fatalf("PIN pad asked with tries %v, want %v", pad.calls, tc.calls)
			}
			for i := range pad.calls {
				if pad.calls[i] != tc.calls[i] {
					t.Errorf("PIN pad asked with tries %v, want %v", pad.calls, tc.calls)
				}
			}
			if pad.noticed(NoticePINTriesLow) != tc.lowTries {
				t.Errorf("last-try notice %v", pad.noticed(NoticePINTriesLow))
			}
		})
	}
}

func TestReadRecords(t *testing.T) {
	tests := []struct {
		name    string
		afl     string
		script  []fake.Exchange
		wantErr error
		oda     string
	}{
		{name: "ODA records kept: template value for SFI 1-10, whole record above", afl: "08010201 58010101",
			script: []fake.Exchange{x(rr1sfi1, ok(T(0x70, T(0x5A, upPAN)))), x(rr2sfi1, ok(T(0x70, T(0x5F24, "301231")))), x("00B2015C00", ok(T(0x70, T(0x9F07, "FF00"))))},
			oda:    hx(T(0x5A, upPAN)) + hx(T(0x70, T(0x9F07, "FF00")))},
		{name: "label in the FCI and again in a record is fine", afl: "08010100",
			script: []fake.Exchange{x(rr1sfi1, ok(T(0x70, T(0x50, []byte("UnionPay Debit")))))}},
		{name: "same tag in two records", afl: "08010200",
			script:  []fake.Exchange{x(rr1sfi1, ok(T(0x70, T(0x5A, upPAN)))), x(rr2sfi1, ok(T(0x70, T(0x5A, upPAN))))},
			wantErr: ErrCardData},
		{name: "record not a 70 template", afl: "08010100",
			script: []fake.Exchange{x(rr1sfi1, ok(T(0x77, T(0x5A, upPAN))))}, wantErr: ErrCardData},
		{name: "record missing", afl: "08010100",
			script: []fake.Exchange{x(rr1sfi1, sw("6A83"))}, wantErr: ErrCardResponse},
		{name: "malformed record", afl: "08010100",
			script: []fake.Exchange{x(rr1sfi1, ok("7005 5A08"))}, wantErr: ErrCardData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := &fake.PlaybackCard{Script: tc.script}
			s := stepSession(t, testConfig(t), card, sale(100), nil, map[tlv.Tag]string{0x50: hx([]byte("UnionPay Debit"))})
			s.afl = mustHex(tc.afl)
			err := s.readRecords(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			if hx(s.oda.records) != tc.oda {
				t.Errorf("ODA data %X, want %s", s.oda.records, tc.oda)
			}
		})
	}
}

func TestTCHashValue(t *testing.T) {
	tests := []struct {
		name    string
		tdol    string // card's 97, "" for absent
		hashed  string
		defTDOL bool
	}{
		{name: "default TDOL", hashed: "000000000100 0156 261122 00 0000000080 12345678", defTDOL: true},
		{name: "card TDOL", tdol: "9F3704", hashed: "12345678"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			icc := map[tlv.Tag]string{0x8C: "9F3704 9814"}
			if tc.tdol != "" {
				icc[0x97] = tc.tdol
			}
			s := stepSession(t, testConfig(t), nil, sale(100), nil, icc)
			s.term[0x9F37] = mustHex("12345678")
			data, err := s.buildCDOL(0x8C)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha1.Sum(mustHex(tc.hashed))
			if want := "12345678" + hexs(sum[:]); hexs(data) != want {
				t.Errorf("CDOL1 data %X, want %s", data, want)
			}
			if s.tvr.Has(status.TVRDefaultTDOLUsed) != tc.defTDOL {
				t.Errorf("default TDOL bit %v", s.tvr.Has(status.TVRDefaultTDOLUsed))
			}
		})
	}
}

func TestCardDataFromTrack2(t *testing.T) {
	s := stepSession(t, testConfig(t), nil, sale(100), nil, map[tlv.Tag]string{0x57: "4761739001010119D2912201123450000F", 0x5F34: "01"})
	cd := s.cardData()
	if cd.PAN.Digits() != "4761739001010119" || cd.Expiry != "2912" || cd.PANSequence != "01" || cd.Label != "UnionPay Debit" {
		t.Errorf("card data %+v", cd)
	}
	if got := cd.PAN.String(); got != "476173******0119" {
		t.Errorf("masked %s", got)
	}
}

func TestCheckMandatory(t *testing.T) {
	full := map[tlv.Tag]string{0x5F24: "301231", 0x5A: upPAN, 0x8C: cdol1, 0x8D: cdol2}
	for _, missing := range []tlv.Tag{0x5F24, 0x5A, 0x8C, 0x8D} {
		icc := map[tlv.Tag]string{}
		for k, v := range full {
			if k != missing {
				icc[k] = v
			}
		}
		s := stepSession(t, testConfig(t), nil, sale(100), nil, icc)
		if err := s.checkMandatory(); !errors.Is(err, ErrCardData) {
			t.Errorf("without %v: %v", missing, err)
		}
	}
	s := stepSession(t, testConfig(t), nil, sale(100), nil, full)
	if err := s.checkMandatory(); err != nil {
		t.Error(err)
	}
	full[0x8C] = "9F37"
	s = stepSession(t, testConfig(t), nil, sale(100), nil, full)
	if err := s.checkMandatory(); !errors.Is(err, ErrCardData) {
		t.Errorf("bad CDOL1: %v", err)
	}
}

// encPINPad is a test PIN pad that enciphers the test PIN block (PIN 1234)
// for the card: GET CHALLENGE, then VERIFY P2 88 with 7F | PIN block |
// challenge | padding under the key the kernel hands it.
type encPINPad struct {
	cardholder
	keys []PINEncipherKey
}

func (p *encPINPad) VerifyEncipheredPIN(ctx context.Context, card hal.Card, key PINEncipherKey, triesLeft int) (uint16, error) {
	p.keys = append(p.keys, key)
	r, err := card.Transmit(ctx, mustHex("0084000000"))
	if err != nil || len(r) != 10 {
		return 0, errors.New("test pin pad: no challenge")
	}
	m := cat("7F", "241234FFFFFFFFFF", r[:8])
	for len(m) < len(key.Modulus) {
		m = append(m, 0xAA)
	}
	n := new(big.Int).SetBytes(key.Modulus)
	c := new(big.Int).Exp(new(big.Int).SetBytes(m), new(big.Int).SetBytes(key.Exponent), n).FillBytes(make([]byte, len(key.Modulus)))
	r, err = card.Transmit(ctx, apdu.Command(0x00, 0x20, 0x00, 0x88, c, false))
	if err != nil || len(r) < 2 {
		return 0, errors.New("test pin pad: VERIFY failed")
	}
	return uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1]), nil
}

// pinCard is a card that answers GET CHALLENGE and checks an enciphered
// VERIFY with its private key; other commands go to the script.
type pinCard struct {
	*fake.PlaybackCard
	key      *privKey
	verified int
}

func (c *pinCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	switch {
	case bytes.Equal(cmd, mustHex("0084000000")):
		return ok("0102030405060708"), nil
	case len(cmd) > 5 && bytes.Equal(cmd[:4], mustHex("00200088")):
		m := c.key.sign(cmd[5:]) // the private operation decrypts
		if m[0] == 0x7F && hexs(m[1:9]) == "241234FFFFFFFFFF" && hexs(m[9:17]) == "0102030405060708" {
			c.verified++
			return sw("9000"), nil
		}
		return sw("63C2"), nil
	}
	return c.PlaybackCard.Transmit(ctx, cmd)
}

func TestEncipheredOfflinePIN(t *testing.T) {
	p := thePKI(t)
	static := cat(T(0x5A, upPAN), T(0x5F24, "301231"))
	cert, rem, exp := p.issuerCert("A000000333", "622202FF", "1249")
	ic, irem, iexp := p.iccCert(upPAN, "1249", static)
	pinCert, pinRem, pinExp := p.iccCert(upPAN, "1249", nil)
	base := map[tlv.Tag]string{0x5A: upPAN, 0x8F: "7E", 0x90: hx(cert), 0x92: hx(rem), 0x9F32: hx(exp), 0x8E: "00000000 00000000 0400"}
	tests := []struct {
		name     string
		extra    map[tlv.Tag]string
		script   []fake.Exchange
		noPad    bool
		cvm      CVM
		cvmr     string
		tvr      string
		verified int
	}{
		{name: "with the ICC public key", extra: map[tlv.Tag]string{0x9F46: hx(ic), 0x9F48: hx(irem), 0x9F47: hx(iexp)},
			script: []fake.Exchange{x("80CA9F1700", ok(T(0x9F17, "03")))}, cvm: CVMOfflinePIN, cvmr: "040002", tvr: "0000000000", verified: 1},
		{name: "with the ICC PIN encipherment key", extra: map[tlv.Tag]string{0x9F2D: hx(pinCert), 0x9F2F: hx(pinRem), 0x9F2E: hx(pinExp)},
			script: []fake.Exchange{x("80CA9F1700", ok(T(0x9F17, "03")))}, cvm: CVMOfflinePIN, cvmr: "040002", tvr: "0000000000", verified: 1},
		{name: "no key: CVM fails without asking", extra: map[tlv.Tag]string{0x8F: "7D", 0x9F46: hx(ic), 0x9F48: hx(irem), 0x9F47: hx(iexp)},
			cvm: CVMFailed, cvmr: "040001", tvr: "2000800000"},
		{name: "PIN pad cannot encipher", extra: map[tlv.Tag]string{0x9F46: hx(ic), 0x9F48: hx(irem), 0x9F47: hx(iexp)}, noPad: true,
			cvm: CVMFailed, cvmr: "040001", tvr: "0000900000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Terminal.Capabilities[1] = 0x10
			icc := map[tlv.Tag]string{}
			for k, v := range base {
				icc[k] = v
			}
			for k, v := range tc.extra {
				icc[k] = v
			}
			card := &pinCard{PlaybackCard: &fake.PlaybackCard{Script: tc.script}, key: p.icc}
			pad := &encPINPad{}
			var ch Cardholder = pad
			if tc.noPad {
				ch = &pad.cardholder
			}
			s := stepSession(t, cfg, card, sale(100), ch, icc)
			s.oda.records = static
			if err := s.cardholderVerification(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			if s.cvm != tc.cvm || hexs(s.cvmr[:]) != tc.cvmr || card.verified != tc.verified {
				t.Errorf("cvm %v results %X verified %d, want %v %s %d", s.cvm, s.cvmr, card.verified, tc.cvm, tc.cvmr, tc.verified)
			}
			assertTVR(t, s.tvr, tc.tvr)
		})
	}
}
