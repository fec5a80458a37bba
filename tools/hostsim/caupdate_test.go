package hostsim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/emv/emvconfig"
)

// TestCAKeyChangeFlagsTerminals: withdrawing or adding a CA key flags the
// next answer to a signed-on terminal "download the CA public keys", once,
// and the next download reflects the change.
func TestCAKeyChangeFlagsTerminals(t *testing.T) {
	capks, err := LoadCAKeys("../../testdata/host/capk.toml")
	if err != nil {
		t.Fatal(err)
	}
	extra, err := LoadCAKeys("../../testdata/host/capk-download-only.toml")
	if err != nil || len(extra) != 1 {
		t.Fatalf("download-only key: %v", err)
	}
	host, err := New(Config{DataDir: "../../testdata/host", CAKeys: capks, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	r.host = host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.client = acquirer.NewClient(acquirer.Config{Addr: "host", TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}},
		pipeLink(ctx, host), r.ks)
	r.signOn()
	sale := func() int {
		resp, err := r.client.Do(ctx, r.chipSale(100))
		if err != nil || resp.Code != "00" {
			t.Fatalf("sale: %+v %v", resp, err)
		}
		return resp.Requirement
	}
	if got := sale(); got != acquirer.RequireNone {
		t.Fatalf("unflagged answer with requirement %d", got)
	}
	host.ReplaceCAKey(extra[0])
	if got := sale(); got != acquirer.RequireCAKeys {
		t.Fatalf("after a new key: requirement %d", got)
	}
	if got := sale(); got != acquirer.RequireNone {
		t.Fatalf("the flag came twice: %d", got)
	}
	keys, err := r.client.DownloadCAKeys(ctx, 1)
	if err != nil || len(keys) != len(capks)+1 {
		t.Fatalf("%d keys after adding one to %d: %v", len(keys), len(capks), err)
	}
	if !host.RemoveCAKey(extra[0].RID, extra[0].Index) || host.RemoveCAKey(extra[0].RID, extra[0].Index) {
		t.Fatal("RemoveCAKey does not report whether it held the key")
	}
	if got := sale(); got != acquirer.RequireCAKeys {
		t.Fatalf("after a withdrawn key: requirement %d", got)
	}
	if keys, err = r.client.DownloadCAKeys(ctx, 1); err != nil || len(keys) != len(capks) {
		t.Fatalf("%d keys after withdrawing one: %v", len(keys), err)
	}
}

// TestICParamDownload: the host lists its applications, answers each AID's
// parameters, and a change flags the terminal and shows in the next
// download.
func TestICParamDownload(t *testing.T) {
	emvCfg, err := emvconfig.LoadConfig("../../testdata/emv/terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	params := ICParamsOf(emvCfg)
	host, err := New(Config{DataDir: "../../testdata/host", ICParams: params, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	r.host = host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.client = acquirer.NewClient(acquirer.Config{Addr: "host", TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}},
		pipeLink(ctx, host), r.ks)
	r.signOn()
	var installed []acquirer.ICParams
	got, err := r.client.DownloadICParams(ctx, 1, func(p []acquirer.ICParams) error { installed = p; return nil })
	if err != nil || len(got) != len(emvCfg.AIDs) || len(installed) != len(got) {
		t.Fatalf("%d parameter sets (%d installed) for %d applications: %v", len(got), len(installed), len(emvCfg.AIDs), err)
	}
	if n := len(r.records("ic-params")); n != len(got)+2 {
		t.Fatalf("%d ic-params records", n)
	}
	p := got[0]
	p.CLFloorLimit = 50000
	host.SetICParams(p)
	resp, err := r.client.Do(ctx, r.chipSale(100))
	if err != nil || resp.Requirement != acquirer.RequireICParams {
		t.Fatalf("after a change: requirement %d, %v", resp.Requirement, err)
	}
	got, err = r.client.DownloadICParams(ctx, 1, nil)
	if err != nil || got[0].CLFloorLimit != 50000 {
		t.Fatalf("the change is not in the next download: %+v %v", got[0], err)
	}
}

// TestCAKeyStatusPagesAndHeldKeys: the status upload (0820, 372) lists
// more keys than fit in one field 62 over several pages, each asked for
// from the count received; a sync downloads (370) only the keys the
// terminal does not hold with the listed expiry, installs the whole list,
// and ends (371); a sync with nothing to download sends no end.
func TestCAKeyStatusPagesAndHeldKeys(t *testing.T) {
	capks, err := LoadCAKeys("../../testdata/host/capk.toml", "../../testdata/host/capk-download-only.toml")
	if err != nil {
		t.Fatal(err)
	}
	listed := append([]CAKey(nil), capks...)
	for i := 0; len(listed) < 60; i++ {
		// Listed only: the terminal holds these, so none is downloaded.
		listed = append(listed, CAKey{RID: "A000000999", Index: fmt.Sprintf("%02X", i), Expiry: "2030-01-01"})
	}
	host, err := New(Config{DataDir: "../../testdata/host", CAKeys: listed, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	r.host = host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.client = acquirer.NewClient(acquirer.Config{Addr: "host", TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}},
		pipeLink(ctx, host), r.ks)
	r.signOn()
	ids, err := r.client.CAKeyStatus(ctx, 1)
	if err != nil || len(ids) != len(listed) {
		t.Fatalf("status lists %d of %d keys: %v", len(ids), len(listed), err)
	}
	if n := len(r.records("ca-keys")); n != 2 {
		t.Fatalf("%d status messages for %d keys of 23 bytes; want 2 pages", n, len(listed))
	}
	if ids[len(capks)].Expiry != "20300101" || ids[0].Expiry != strings.ReplaceAll(capks[0].Expiry, "-", "") {
		t.Fatalf("expiry as listed: %q, %q", ids[len(capks)].Expiry, ids[0].Expiry)
	}
	// The terminal holds every key but the last real one, and holds that
	// one with another expiry: it is downloaded again.
	last := capks[len(capks)-1]
	held := func(id acquirer.CAKeyID) (acquirer.CAKey, bool) {
		if fmt.Sprintf("%X", id.RID) == strings.ToUpper(last.RID) && fmt.Sprintf("%02X", id.Index) == strings.ToUpper(last.Index) {
			return acquirer.CAKey{}, id.Expiry == "19991231"
		}
		return acquirer.CAKey{RID: id.RID, Index: id.Index, Expiry: id.Expiry}, true
	}
	var installed []acquirer.CAKey
	before := len(r.records("ca-keys"))
	keys, fetched, err := r.client.SyncCAKeys(ctx, 1, held, func(k []acquirer.CAKey) error { installed = k; return nil })
	if err != nil || fetched != 1 || len(keys) != len(listed) || len(installed) != len(listed) {
		t.Fatalf("sync: %d keys, %d fetched, %d installed: %v", len(keys), fetched, len(installed), err)
	}
	if got := installed[len(capks)-1]; len(got.Modulus) == 0 || fmt.Sprintf("%X", got.Modulus) != strings.ToUpper(last.Modulus) {
		t.Fatal("the changed key was not downloaded")
	}
	var notes []string
	for _, rec := range r.records("ca-keys")[before:] {
		notes = append(notes, rec.Note)
	}
	if want := "network code 372,network code 372,network code 370,network code 371"; strings.Join(notes, ",") != want {
		t.Fatalf("sequence %q, want %q", strings.Join(notes, ","), want)
	}
	all := func(id acquirer.CAKeyID) (acquirer.CAKey, bool) {
		return acquirer.CAKey{RID: id.RID, Index: id.Index}, true
	}
	before = len(r.records("ca-keys"))
	if _, fetched, err = r.client.SyncCAKeys(ctx, 1, all, nil); err != nil || fetched != 0 {
		t.Fatalf("unchanged: %d fetched: %v", fetched, err)
	}
	if n := len(r.records("ca-keys")) - before; n != 2 {
		t.Fatalf("an unchanged list took %d messages; want the 2 status pages and no end", n)
	}
}

// TestDownloadCodesBelongToTheirMTI: a status code (372, 382) comes in an
// 0820, a download or end code (370, 371, 380, 381) in an 0800; the other
// way round is refused with 12, and a status upload that does not say where
// to start with 30.
func TestDownloadCodesBelongToTheirMTI(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	for _, c := range []struct {
		mti, net, f62, want string
	}{
		{"0820", cupmsg.NetCAKeyQuery, "100", "00"},
		{"0820", cupmsg.NetICParamQuery, "100", "00"},
		{"0800", cupmsg.NetCAKeyQuery, "100", "12"},
		{"0800", cupmsg.NetICParamQuery, "100", "12"},
		{"0820", cupmsg.NetCAKeyDownload, "", "12"},
		{"0820", cupmsg.NetCAKeyEnd, "", "12"},
		{"0820", cupmsg.NetICParamDownload, "", "12"},
		{"0820", cupmsg.NetICParamEnd, "", "12"},
		{"0800", cupmsg.NetCAKeyEnd, "", "00"},
		{"0820", cupmsg.NetCAKeyQuery, "1", "30"},
	} {
		m := r.host.codec.NewMessage()
		m.MTI(c.mti)
		for id, v := range map[int]string{41: testTID, 42: testMID,
			60: acquirer.Field60{MsgType: "00", Batch: 1, NetCode: c.net}.String()} {
			if err := m.Field(id, v); err != nil {
				t.Fatal(err)
			}
		}
		if c.f62 != "" {
			if err := m.BinaryField(62, []byte(c.f62)); err != nil {
				t.Fatal(err)
			}
		}
		body, err := r.host.codec.Pack(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err = r.host.codec.Unpack(body); err != nil {
			t.Fatal(err)
		}
		a, _, err := r.host.dispatch(c.mti, m, body)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := r.host.codec.Pack(a.msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := r.host.codec.Unpack(raw)
		if err != nil {
			t.Fatal(err)
		}
		if mti, _ := ans.GetMTI(); mti != c.mti[:2]+string(c.mti[2]+1)+c.mti[3:] {
			t.Errorf("%s %s: answered with %s", c.mti, c.net, mti)
		}
		if got := acquirer.FieldString(ans, 39); got != c.want {
			t.Errorf("%s %s: answered %q, want %q", c.mti, c.net, got, c.want)
		}
	}
}
