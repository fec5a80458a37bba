package hostsim

import (
	"context"
	"testing"
	"time"

	"kpos/firmware/acquirer"
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
	keys, err := r.client.DownloadCAKeys(ctx, 1, r.nextTrace)
	if err != nil || len(keys) != len(capks)+1 {
		t.Fatalf("%d keys after adding one to %d: %v", len(keys), len(capks), err)
	}
	if !host.RemoveCAKey(extra[0].RID, extra[0].Index) || host.RemoveCAKey(extra[0].RID, extra[0].Index) {
		t.Fatal("RemoveCAKey does not report whether it held the key")
	}
	if got := sale(); got != acquirer.RequireCAKeys {
		t.Fatalf("after a withdrawn key: requirement %d", got)
	}
	if keys, err = r.client.DownloadCAKeys(ctx, 1, r.nextTrace); err != nil || len(keys) != len(capks) {
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
	got, err := r.client.DownloadICParams(ctx, 1, r.nextTrace, func(p []acquirer.ICParams) error { installed = p; return nil })
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
	got, err = r.client.DownloadICParams(ctx, 1, r.nextTrace, nil)
	if err != nil || got[0].CLFloorLimit != 50000 {
		t.Fatalf("the change is not in the next download: %+v %v", got[0], err)
	}
}
