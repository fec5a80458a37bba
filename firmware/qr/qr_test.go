package qr

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readPayload returns the one non-comment line of a testdata payload file.
func readPayload(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "qr-payloads", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if len(out) != 1 {
		t.Fatalf("%s: want one payload line, got %d", name, len(out))
	}
	return out[0]
}

func TestCRC16CheckValue(t *testing.T) {
	// The catalogued check value of CRC-16/CCITT-FALSE.
	if got := CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC16(123456789) = %04X, want 29B1", got)
	}
}

func TestPublishedMerchantPayloads(t *testing.T) {
	tests := []struct {
		file     string
		crc      string
		check    func(t *testing.T, m MPM)
		identity bool // the published payload is in canonical order: Encode reproduces it
	}{
		{
			file: "emvco-mpm-appendix-a.txt", crc: "A13A",
			check: func(t *testing.T, m MPM) {
				want := MPM{
					Initiation: Dynamic,
					Accounts: []MerchantAccount{
						{ID: "29", GUID: "D15600000000", Data: []DataObject{{"05", "A93FO3230Q"}}},
						{ID: "31", GUID: "D15600000001", Data: []DataObject{{"03", "12345678"}}},
					},
					MCC: "4111", Currency: "156", Amount: "23.72", TipIndicator: "01",
					Country: "CN", Name: "BEST TRANSPORT", City: "BEIJING",
					Additional:  &AdditionalData{Store: "1234", Customer: "***", Terminal: "A6008667", ConsumerRequest: "ME"},
					AltLanguage: &AltLanguage{Language: "ZH", Name: "最佳运输", City: "北京"},
					Other:       []DataObject{{"91", "0016A011223344998877070812345678"}},
				}
				if !reflect.DeepEqual(m, want) {
					t.Errorf("parsed\n%+v\nwant\n%+v", m, want)
				}
				if fen, err := m.AmountFen(); err != nil || fen != 2372 {
					t.Errorf("AmountFen = %d, %v; want 2372", fen, err)
				}
			},
		},
		{
			file: "bcb-brcode-manual.txt", crc: "1D3D", identity: true,
			check: func(t *testing.T, m MPM) {
				if len(m.Accounts) != 1 || m.Accounts[0].ID != "26" || m.Accounts[0].GUID != "br.gov.bcb.pix" {
					t.Errorf("accounts = %+v", m.Accounts)
				}
				if m.Name != "Fulano de Tal" || m.City != "BRASILIA" || m.Currency != "986" || m.Amount != "" {
					t.Errorf("parsed %+v", m)
				}
				if _, err := m.AmountFen(); err == nil {
					t.Error("AmountFen of a static code without amount: no error")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := readPayload(t, tt.file)
			if got := CRC16Hex(p[:len(p)-4]); got != tt.crc || p[len(p)-4:] != tt.crc {
				t.Fatalf("CRC of the published payload = %s, want %s", got, tt.crc)
			}
			m, err := ParseMPM(p)
			if err != nil {
				t.Fatalf("ParseMPM: %v", err)
			}
			tt.check(t, m)
			enc, err := m.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if tt.identity && enc != p {
				t.Errorf("Encode = %s\nwant   %s", enc, p)
			}
			again, err := ParseMPM(enc)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if !reflect.DeepEqual(again, m) {
				t.Errorf("round trip changed the payload:\n%+v\n%+v", again, m)
			}
		})
	}
}

// terminalMPM is the kind of code this terminal shows.
func terminalMPM(amount string) MPM {
	init := Static
	if amount != "" {
		init = Dynamic
	}
	return MPM{
		Initiation: init,
		Accounts:   []MerchantAccount{UnionPayAccount("48020000", "898320154110001")},
		MCC:        "5812", Currency: CurrencyCNY, Amount: amount, Country: "CN",
		Name: "KPOS Test Shop", City: "Shanghai",
		Additional:  &AdditionalData{Bill: "000123", Terminal: "12345678"},
		AltLanguage: &AltLanguage{Language: "ZH", Name: "测试商户", City: "上海"},
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	for _, amount := range []string{"", FormatAmount(1), FormatAmount(2372), FormatAmount(1234567)} {
		m := terminalMPM(amount)
		p, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode(%q): %v", amount, err)
		}
		if !strings.HasPrefix(p, "000201") || !strings.Contains(p, "1523"+"48020000898320154110001") {
			t.Errorf("payload %s lacks 00 first or the UnionPay account 15", p)
		}
		got, err := ParseMPM(p)
		if err != nil {
			t.Fatalf("ParseMPM(%s): %v", p, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
	}
	if FormatAmount(5) != "0.05" || FormatAmount(100) != "1.00" {
		t.Error("FormatAmount")
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *MPM)
		id   string
	}{
		{"no account", func(m *MPM) { m.Accounts = nil }, "02-51"},
		{"bad initiation", func(m *MPM) { m.Initiation = "13" }, "01"},
		{"bad MCC", func(m *MPM) { m.MCC = "58" }, "52"},
		{"bad amount", func(m *MPM) { m.Amount = "1,00" }, "54"},
		{"long name", func(m *MPM) { m.Name = strings.Repeat("x", 26) }, "59"},
		{"no city", func(m *MPM) { m.City = "" }, "60"},
		{"template without GUID", func(m *MPM) { m.Accounts = []MerchantAccount{{ID: "26", Data: []DataObject{{"01", "x"}}}} }, "26"},
		{"country lower case", func(m *MPM) { m.Country = "cn" }, "58"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := terminalMPM("1.00")
			tt.edit(&m)
			_, err := m.Encode()
			var fe *FieldError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &fe) || fe.ID != tt.id {
				t.Fatalf("Encode error = %v, want a malformed data object %s", err, tt.id)
			}
		})
	}
}

// withCRC appends "6304" and the right CRC, so a test reaches the structure
// checks behind the checksum.
func withCRC(body string) string {
	body += "6304"
	return body + CRC16Hex(body)
}

func TestParseMPMErrors(t *testing.T) {
	good, err := terminalMPM("23.72").Encode()
	if err != nil {
		t.Fatal(err)
	}
	const base = "0002010102121523" + "48020000898320154110001" + "52045812530315658" + "02CN5914KPOS Test Shop6008Shanghai"
	tests := []struct {
		name    string
		payload string
		want    error
		id      string
	}{
		{"one character changed", strings.Replace(good, "23.72", "93.72", 1), ErrCRC, "63"},
		{"crc altered", good[:len(good)-1] + "0", ErrCRC, "63"},
		{"truncated", good[:len(good)-10], ErrMalformed, ""},
		{"crc missing", good[:len(good)-8], ErrMalformed, "63"},
		{"empty", "", ErrMalformed, "00"},
		{"format indicator not first", withCRC("52045812" + base[6:]), ErrMalformed, "00"},
		{"format indicator 02", withCRC("000202" + base[6:]), ErrMalformed, "00"},
		{"duplicate MCC", withCRC(base + "52045812"), ErrMalformed, "52"},
		{"dynamic code with bad amount", withCRC(base + "54051.2.3"), ErrMalformed, "54"},
		{"no merchant name", withCRC(strings.Replace(base, "5914KPOS Test Shop", "", 1)), ErrMalformed, "59"},
		{"length not digits", withCRC(base + "62A5"), ErrMalformed, "62"},
		{"length beyond end", "000201" + "5999abc", ErrMalformed, "59"},
		{"bad sub-object", withCRC(base + "6205xx123"), ErrMalformed, "62"},
		{"lower-case letters in crc allowed only as hex", good[:len(good)-4] + "ZZZZ", ErrMalformed, "63"},
		{"not UTF-8", "000201\xff", ErrMalformed, ""},
		{"too long", strings.Repeat("0", MaxPayloadLen+1), ErrMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMPM(tt.payload)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseMPM error = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "qr: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
			if tt.id != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.ID != tt.id {
					t.Errorf("error %v does not name data object %s", err, tt.id)
				}
			}
		})
	}
}

func TestPublishedCPM(t *testing.T) {
	c, err := ParseCPMText(readPayload(t, "emvco-cpm-example.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Apps) != 2 {
		t.Fatalf("apps = %d, want 2", len(c.Apps))
	}
	for i, want := range []struct{ aid, label string }{{"A0000000555555", "Product1"}, {"A0000000666666", "Product2"}} {
		if got := strings.ToUpper(hexs(c.Apps[i].AID)); got != want.aid || c.Apps[i].Label != want.label {
			t.Errorf("app %d = %s %q, want %s %q", i, got, c.Apps[i].Label, want.aid, want.label)
		}
	}
	if c.Account() != "123456******3458" {
		t.Errorf("Account() = %q", c.Account())
	}
	if s := c.String(); strings.Contains(s, "1234567890123458") || !strings.Contains(s, "Product1") {
		t.Errorf("String() = %q", s)
	}
}
