package hostsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"kpos/hal"
)

// ControlHandler is the control interface for tests and demos when the
// simulator runs as its own program (serve it on loopback only):
//
//	GET    /health                 "ok"
//	GET    /records[?type=T]       the records, JSON array, PANs masked
//	GET    /summary                the records counted by kind: sales, voids, refunds, QR sales… (see Summary)
//	GET    /accounts               masked PAN, profile and available balance of every card
//	GET    /otp?serial=S           {"serial":S,"otp":"123456"} of the activation in progress, 404 if none
//	GET    /faults                 the faults still queued
//	POST   /faults                 {"kind":"no-answer","delay":"3s","mti":"0200","sticky":false}
//	DELETE /faults                 clear every fault
//	POST   /qr/pay                 {"payload":"https://qr.kpos.test/pay/..."}: the customer pays that order
//	POST   /revoke?serial=S        the bank revokes that terminal's K code
//	POST   /require?tid=T&what=N   the next answer to T asks for N (3 sign on, 1 parameters, 4 CA keys)
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /records", func(w http.ResponseWriter, r *http.Request) {
		typ := r.URL.Query().Get("type")
		out := []Record{}
		for _, rec := range s.Records() {
			if typ == "" || rec.Type == typ {
				out = append(out, rec)
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Summary(s.Records()))
	})
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		type acct struct {
			PAN       string `json:"pan"`
			Profile   string `json:"profile"`
			Available int64  `json:"available"`
		}
		s.mu.Lock()
		out := make([]acct, 0, len(s.accounts))
		for pan, a := range s.accounts {
			p, _ := hal.ParsePAN(pan)
			out = append(out, acct{PAN: p.Masked(), Profile: a.card.Profile, Available: a.available})
		}
		s.mu.Unlock()
		sort.Slice(out, func(i, j int) bool { return out[i].Profile < out[j].Profile })
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /otp", func(w http.ResponseWriter, r *http.Request) {
		serial := r.URL.Query().Get("serial")
		otp, ok := s.LastOTP(serial)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no activation in progress for that serial"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"serial": serial, "otp": otp})
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		out := []string{}
		for _, f := range s.Faults() {
			out = append(out, f.String())
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Kind   string `json:"kind"`
			Delay  string `json:"delay"`
			MTI    string `json:"mti"`
			Sticky bool   `json:"sticky"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f, err := faultFromControl(in.Kind, in.Delay, in.MTI, in.Sticky)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.InjectFault(f)
		writeJSON(w, http.StatusOK, map[string]string{"injected": f.String()})
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /qr/pay", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Payload string `json:"payload"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if !s.PayQR(in.Payload) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no open order with that payload"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"paid": in.Payload})
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		serial := r.URL.Query().Get("serial")
		if !s.Revoke(serial) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no terminal with that serial"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"revoked": serial})
	})
	mux.HandleFunc("POST /require", func(w http.ResponseWriter, r *http.Request) {
		tid := r.URL.Query().Get("tid")
		n, err := strconv.Atoi(r.URL.Query().Get("what"))
		if err != nil || n < 0 || n > 15 || tid == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want tid=TID&what=0..15"})
			return
		}
		s.Require(tid, n)
		writeJSON(w, http.StatusOK, map[string]any{"tid": tid, "requirement": n})
	})
	mux.HandleFunc("GET /issuer", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"auth_failures": s.IssuerAuthFailures()})
	})
	mux.HandleFunc("DELETE /cakeys", func(w http.ResponseWriter, r *http.Request) {
		rid, index := r.URL.Query().Get("rid"), r.URL.Query().Get("index")
		if !s.RemoveCAKey(rid, index) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such CA key"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"removed": rid + "/" + index})
	})
	mux.HandleFunc("POST /cakeys", func(w http.ResponseWriter, r *http.Request) {
		var k CAKey
		if err := json.NewDecoder(r.Body).Decode(&k); err != nil || k.RID == "" || k.Index == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a CA key as JSON (rid, index, modulus, exponent, sha1, expiry)"})
			return
		}
		s.ReplaceCAKey(k)
		writeJSON(w, http.StatusOK, map[string]string{"replaced": k.RID + "/" + k.Index})
	})
	return mux
}

// KindCount is how many records of one kind the host holds, and how many
// of them it approved (answered 00) or declined (any other answer).
type KindCount struct {
	Kind     string `json:"kind"`
	Approved int    `json:"approved"`
	Declined int    `json:"declined"`
	All      int    `json:"all"`
}

// Summary counts recs by kind: an authorization by what it was (sale, void,
// refund, QR sale, pre-authorization…), any other record by its type
// (reversal, settlement, sign-on…), in the order each kind first appears.
// Nothing is left out but the faults the simulator was told to inject.
func Summary(recs []Record) []KindCount {
	var out []KindCount
	at := map[string]int{}
	for _, r := range recs {
		kind := r.Type
		if r.Type == "authorization" && r.Kind != "" {
			kind = r.Kind
		}
		if kind == "fault" {
			continue
		}
		i, ok := at[kind]
		if !ok {
			i = len(out)
			at[kind] = i
			out = append(out, KindCount{Kind: kind})
		}
		out[i].All++
		switch {
		case r.Code == "00":
			out[i].Approved++
		case r.Code != "":
			out[i].Declined++
		}
	}
	return out
}

// faultFromControl builds a fault from the control interface's words.
func faultFromControl(kind, delay, mti string, sticky bool) (Fault, error) {
	k, err := ParseFaultKind(kind)
	if err != nil {
		return Fault{}, err
	}
	f := Fault{Kind: k, MTI: mti, Sticky: sticky}
	if k == FaultDelay {
		d, err := time.ParseDuration(delay)
		if err != nil || d <= 0 {
			return Fault{}, errors.New("hostsim: a delay fault needs a positive delay such as \"3s\"")
		}
		f.Delay = d
	}
	return f, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
