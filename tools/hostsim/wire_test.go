package hostsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	mathrand "math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/keys"
	"kpos/hal"
	"kpos/hal/fake"
)

var updateWire = flag.Bool("update-wire", false, "rewrite testdata/management-wire.json from this run")

// wireExchange is one request and its answer as they crossed the link
// (message bodies, without TPDU and header), named by the step that sent it.
type wireExchange struct {
	Step    string `json:"step"`
	Request string `json:"request"`
	Answer  string `json:"answer,omitempty"`
}

// tapConn records what the terminal writes and reads on one connection.
type tapConn struct {
	net.Conn
	out, in bytes.Buffer
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Write(b[:n])
	return n, err
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Write(b[:n])
	return n, err
}

// wireTap is a link to an in-process host that keeps every exchange.
type wireTap struct {
	mu    sync.Mutex
	step  string
	conns []*tapConn
	steps []string
}

func (w *wireTap) link(ctx context.Context, s *Server) *fake.Link {
	return fake.NewLink(func(_ context.Context, network, addr string) (net.Conn, error) {
		c, sc := net.Pipe()
		go s.ServeConn(ctx, sc)
		tc := &tapConn{Conn: c}
		w.mu.Lock()
		w.conns, w.steps = append(w.conns, tc), append(w.steps, w.step)
		w.mu.Unlock()
		return tc, nil
	})
}

// body is the message body of the first frame in a stream (length prefix,
// TPDU, header), "" when there is none.
func frameBody(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) < 2 {
		return ""
	}
	fr, err := acquirer.ReadFrame(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("tapped frame: %v", err)
	}
	return hex.EncodeToString(fr.Body)
}

func (w *wireTap) exchanges(t *testing.T) []wireExchange {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]wireExchange, 0, len(w.conns))
	for i, c := range w.conns {
		out = append(out, wireExchange{Step: w.steps[i], Request: frameBody(t, c.out.Bytes()), Answer: frameBody(t, c.in.Bytes())})
	}
	return out
}

// managementRun drives every message of the management, settlement and
// batch upload paths through a deterministic host (fixed clock, seeded
// random source) and returns what crossed the link.
func managementRun(t *testing.T) []wireExchange {
	t.Helper()
	capks, err := LoadCAKeys("../../testdata/emv/capk-test.toml")
	if err != nil {
		t.Fatal(err)
	}
	emvCfg, err := emvconfig.LoadConfig("../../testdata/emv/terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	host, err := New(Config{DataDir: "../../testdata/host", CAKeys: capks, ICParams: ICParamsOf(emvCfg),
		Now: func() time.Time { return fixedNow }, Rand: mathrand.New(mathrand.NewSource(8583))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tap := &wireTap{}
	link := tap.link(ctx, host)
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	cfg := acquirer.Config{Addr: "host", TPDU: tpdu, Header: hdr, Now: func() time.Time { return fixedNow }, ReadTimeout: 5 * time.Second}
	step := func(name string) { tap.mu.Lock(); tap.step = name; tap.mu.Unlock() }
	want := func(name string, err error, code string) {
		t.Helper()
		if code == "" && err != nil || code != "" && !isCode(err, code) {
			t.Fatalf("%s: %v, want %q", name, err, code)
		}
	}

	// A blank terminal binds with its K code.
	blank := acquirer.NewClient(cfg, link, nil)
	const serial, kcode = "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"
	step("activation, unknown K code")
	_, err = blank.Activate(ctx, 1, serial, "Z9222ZC3ZQWRCE9G")
	want("activation K1", err, "K1")
	step("activation")
	_, err = blank.Activate(ctx, 2, serial, kcode)
	want("activation", err, "")
	otp, _ := host.LastOTP(serial)
	step("activation confirmation, wrong code")
	_, err = blank.ConfirmActivation(ctx, 3, serial, kcode, wrongOTP(otp))
	want("confirmation K4", err, "K4")
	step("activation confirmation")
	b, err := blank.ConfirmActivation(ctx, 4, serial, kcode, otp)
	want("confirmation", err, "")
	step("activation confirmation, repeated")
	_, err = blank.ConfirmActivation(ctx, 5, serial, kcode, otp)
	want("repeated confirmation", err, "")
	step("binding status, blank terminal")
	_, err = blank.CheckBinding(ctx, 6, serial, kcode)
	want("binding status", err, "")

	ks, err := keys.Open(filepath.Join(t.TempDir(), "k"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InstallTMKUnderTransport(b.EncTMK, b.KCV, keys.DeriveTransportKey(kcode, serial)); err != nil {
		t.Fatal(err)
	}
	bcfg := cfg
	bcfg.TID, bcfg.MID = b.TID, b.MID
	c := acquirer.NewClient(bcfg, link, ks)
	step("sign-on")
	want("sign-on", c.SignOn(ctx, 7, 1), "")
	step("binding status")
	_, err = c.CheckBinding(ctx, 8, serial, kcode)
	want("binding status", err, "")
	step("parameter download")
	_, err = c.DownloadParams(ctx, 9, 1)
	want("parameters", err, "")
	step("account verification")
	_, err = c.VerifyAccount(ctx, 10, hal.MustPAN(debitPAN))
	want("account", err, "")
	step("account verification, unknown card")
	_, err = c.VerifyAccount(ctx, 11, hal.MustPAN("6222020000000000000"))
	want("unknown account", err, "14")
	step("CA keys")
	_, _, err = c.SyncCAKeys(ctx, 1, func(id acquirer.CAKeyID) (acquirer.CAKey, bool) {
		return acquirer.CAKey{}, false
	}, nil)
	want("CA keys", err, "")
	step("IC parameters")
	_, err = c.DownloadICParams(ctx, 1, nil)
	want("IC parameters", err, "")

	// Sales to settle and upload: a chip sale, a stripe sale and a refund.
	r := &rig{t: t, ks: ks}
	var items []acquirer.Request
	var dom acquirer.Totals
	trace := uint32(20)
	for i, amt := range []int64{1000, 2000} {
		trace++
		q := r.chipSale(amt)
		q.Trace = trace
		if i == 1 {
			q.ICCData, q.Entry, q.PANSeq = nil, acquirer.EntryStripe, ""
			q.Track2 = []byte(debitPAN + "=30122011758928889")
		}
		step(fmt.Sprintf("sale %d", amt))
		resp, err := c.Do(ctx, q)
		if err != nil || !resp.Approved() {
			t.Fatalf("sale: %+v %v", resp, err)
		}
		q.OrigRRN, q.OrigAuth = resp.RRN, resp.AuthCode
		items = append(items, q)
		dom.DebitAmount += amt
		dom.DebitCount++
	}
	step("settlement, balanced")
	res, err := c.Settle(ctx, acquirer.Settlement{Trace: 30, Batch: 1, Domestic: dom})
	if err != nil || !res.Balanced {
		t.Fatalf("settlement: %+v %v", res, err)
	}
	short := dom
	short.DebitAmount -= 2000
	short.DebitCount--
	step("settlement, unbalanced")
	if res, err = c.Settle(ctx, acquirer.Settlement{Trace: 31, Batch: 1, Domestic: short,
		Foreign: acquirer.Totals{CreditAmount: 5, CreditCount: 1}}); err != nil || res.Balanced {
		t.Fatalf("unbalanced settlement: %+v %v", res, err)
	}
	step("batch upload")
	want("batch upload", c.UploadBatch(ctx, items), "")
	step("sign-off")
	want("sign-off", c.SignOff(ctx, 32, 1), "")
	host.Revoke(serial)
	step("binding status, revoked")
	_, err = c.CheckBinding(ctx, 33, serial, kcode)
	want("revoked status", err, "")
	step("sign-on, unknown terminal")
	ucfg := cfg
	ucfg.TID, ucfg.MID = "87654321", "898320154110009"
	err = acquirer.NewClient(ucfg, link, ks).SignOn(ctx, 34, 1)
	want("unknown sign-on", err, "97")
	return tap.exchanges(t)
}

// TestManagementWire: every message of the management (0800/0810,
// 0820/0830), settlement (0500/0510) and batch upload (0320/0330) paths,
// both ways, keeps the bytes in testdata/management-wire.json, which the
// field-by-field builders wrote before the typed messages replaced them.
func TestManagementWire(t *testing.T) {
	got := managementRun(t)
	const golden = "testdata/management-wire.json"
	if *updateWire {
		raw, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want []wireExchange
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d exchanges, the golden file has %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("exchange %d (%s):\n got %+v\nwant %+v", i, want[i].Step, got[i], want[i])
		}
	}
}

// typedOf is the typed message of cupmsg that a management-path body of
// type mti (field 60.3 net) reads into.
func typedOf(mti, net string) any {
	switch mti {
	case cupmsg.MTINetwork, cupmsg.MTIStatus:
		return &cupmsg.Management{}
	case cupmsg.MTISettlement:
		return &cupmsg.Settlement{}
	case cupmsg.MTIBatchUpload:
		if net == cupmsg.NetUploadEnd {
			return &cupmsg.Settlement{}
		}
		return &cupmsg.Request{}
	case "0810", "0830", "0510":
		return &cupmsg.ManagementResponse{}
	case "0200":
		return &cupmsg.Request{}
	}
	return &cupmsg.Response{}
}

// TestManagementWireTyped: every message of the golden exchanges reads
// into its typed message and marshals back to the same bytes (field 64
// kept as it came).
func TestManagementWireTyped(t *testing.T) {
	raw, err := os.ReadFile("testdata/management-wire.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden []wireExchange
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	c := cupmsg.NewCodec()
	for i, x := range golden {
		for _, h := range []string{x.Request, x.Answer} {
			body, _ := hex.DecodeString(h)
			m, err := c.Unpack(body)
			if err != nil {
				t.Fatalf("exchange %d (%s): %v", i, x.Step, err)
			}
			mti, _ := m.GetMTI()
			f60, _ := acquirer.ParseField60(acquirer.FieldString(m, 60))
			typed := typedOf(mti, f60.NetCode)
			if err := cupmsg.Unmarshal(m, typed); err != nil {
				t.Fatalf("exchange %d (%s): %v", i, x.Step, err)
			}
			again, err := c.Marshal(typed)
			if err != nil {
				t.Fatalf("exchange %d (%s): %v", i, x.Step, err)
			}
			if m.Bitmap().IsSet(64) {
				mac, _ := m.GetBytes(64)
				if err := again.BinaryField(64, mac); err != nil {
					t.Fatal(err)
				}
			}
			packed, err := again.Pack()
			if err != nil {
				t.Fatalf("exchange %d (%s): %v", i, x.Step, err)
			}
			if !bytes.Equal(packed, body) {
				t.Errorf("exchange %d (%s) %s through %T:\n got %X\nwant %X", i, x.Step, mti, typed, packed, body)
			}
		}
	}
}
