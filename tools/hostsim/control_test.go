package hostsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kpos/firmware/acquirer"
)

func TestControlInterface(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.TID, c.MID = "", "" })
	srv := httptest.NewServer(r.host.ControlHandler())
	defer srv.Close()
	call := func(method, path, body string, wantStatus int) string {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
		}
		return string(b)
	}
	call("GET", "/health", "", 200)
	call("GET", "/otp?serial=KPOS-SIM-0002", "", 404)
	if _, err := r.client.Activate(context.Background(), r.nextTrace(), "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"); err != nil {
		t.Fatal(err)
	}
	var otp struct{ OTP string }
	if err := json.Unmarshal([]byte(call("GET", "/otp?serial=KPOS-SIM-0002", "", 200)), &otp); err != nil || len(otp.OTP) != 6 {
		t.Fatalf("otp %+v %v", otp, err)
	}
	call("POST", "/faults", `{"kind":"delay"}`, 400)
	call("POST", "/faults", `{"kind":"sparks"}`, 400)
	call("POST", "/faults", `{"kind":"no-answer","mti":"0800"}`, 200)
	if f := call("GET", "/faults", "", 200); !strings.Contains(f, "no-answer mti=0800") {
		t.Fatalf("faults %s", f)
	}
	call("DELETE", "/faults", "", 204)
	if f := call("GET", "/faults", "", 200); strings.TrimSpace(f) != "[]" {
		t.Fatalf("faults after clear %s", f)
	}
	call("POST", "/faults", `{"kind":"garbage","mti":"0800","sticky":true}`, 200)
	if _, err := r.client.Activate(context.Background(), r.nextTrace(), "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"); !errors.Is(err, acquirer.ErrNoAnswer) {
		t.Fatalf("activation through a garbage fault: %v", err)
	}
	var recs []Record
	if err := json.Unmarshal([]byte(call("GET", "/records?type=activation", "", 200)), &recs); err != nil || len(recs) != 3 { // one, then an attempt and its repeat
		t.Fatalf("records %+v %v", recs, err)
	}
	var sum []KindCount
	if err := json.Unmarshal([]byte(call("GET", "/summary", "", 200)), &sum); err != nil || len(sum) == 0 ||
		sum[0] != (KindCount{Kind: "activation", Approved: 3, Declined: 0, All: 3}) {
		t.Fatalf("summary %+v %v", sum, err)
	}
	accts := call("GET", "/accounts", "", 200)
	if strings.Contains(accts, debitPAN) || !strings.Contains(accts, "622202*********0128") {
		t.Fatalf("accounts must show masked PANs only: %s", accts)
	}
	call("POST", "/qr/pay", `{"payload":"nothing"}`, 404)
	call("POST", "/revoke?serial=nobody", "", 404)
	call("POST", "/revoke?serial=KPOS-SIM-0001", "", 200)
}

// The summary leaves out no kind the terminal sends: voids, refunds and QR
// sales are counted beside the sales.
func TestSummaryCountsEveryKind(t *testing.T) {
	recs := []Record{
		{Type: "sign-on", Code: "00"},
		{Type: "authorization", Kind: "sale", Code: "00"},
		{Type: "authorization", Kind: "void", Code: "00"},
		{Type: "fault", Note: "no-answer"},
		{Type: "authorization", Kind: "refund", Code: "13"},
		{Type: "authorization", Kind: "refund", Code: "00"},
		{Type: "authorization", Kind: "QR sale", Code: "00"},
		{Type: "reversal", Code: "00"},
		{Type: "authorization", Kind: "sale", Code: "51"},
	}
	got := Summary(recs)
	want := []KindCount{{"sign-on", 1, 0, 1}, {"sale", 1, 1, 2}, {"void", 1, 0, 1}, {"refund", 1, 1, 2},
		{"QR sale", 1, 0, 1}, {"reversal", 1, 0, 1}}
	if len(got) != len(want) {
		t.Fatalf("summary %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("summary %+v, want %+v", got, want)
		}
	}
}
