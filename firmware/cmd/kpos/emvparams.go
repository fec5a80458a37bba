package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/journal"
)

// emvParams keeps the kernel's CA public keys and application parameters
// in step with the acquirer: what the CUP downloads brought (CA keys, 370
// to 372; IC card parameters, 380 to 382) is stored in the data directory,
// replaced as a whole, and joined to the configuration files; the kernel
// uses it from the next transaction.
type emvParams struct {
	base   emvconfig.Config // the configuration files
	path   string           // the downloaded set
	kernel *emv.Kernel
	log    *slog.Logger

	mu sync.Mutex // one download at a time
}

// startConfig is the configuration the kernel starts with: the files and
// the set downloaded before. A damaged set is logged and left out; the
// next sign-on downloads it again.
func (p *emvParams) startConfig() emvconfig.Config {
	d, err := emvconfig.LoadDownloaded(p.path)
	if err == nil {
		var joined emvconfig.Config
		if joined, err = p.base.WithDownloaded(d); err == nil {
			return joined
		}
	}
	p.log.Error("downloaded CA keys not used", "err", err)
	return p.base
}

// refresh brings the kernel's CA public keys to the host's list: the
// status upload lists every key with its expiry; a key the terminal holds
// (downloaded before, or in its files) with that expiry is kept, the others
// are downloaded; the whole list is stored and given to the kernel. A
// failure keeps the old set.
func (p *emvParams) refresh(ctx context.Context, c *acquirer.Client, batch uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := emvconfig.LoadDownloaded(p.path)
	if err != nil {
		d = emvconfig.Downloaded{} // damaged: everything is downloaded again
	}
	candidates := append(append([]capk.Key(nil), d.CAKeys...), p.base.CAPKs.List()...)
	kept := map[string]capk.Key{}
	held := func(id acquirer.CAKeyID) (acquirer.CAKey, bool) {
		for _, k := range candidates {
			if bytes.Equal(k.RID[:], id.RID) && k.Index == id.Index && expiryOf(k) == id.Expiry {
				kept[fmt.Sprintf("%X/%02X", id.RID, id.Index)] = k
				return acquirer.CAKey{RID: id.RID, Index: id.Index, Expiry: id.Expiry}, true
			}
		}
		return acquirer.CAKey{}, false
	}
	_, fetched, err := c.SyncCAKeys(ctx, batch, held, func(keys []acquirer.CAKey) error {
		// Installed before the end message, which tells the host the
		// terminal holds the set.
		var cas []capk.Key
		for _, k := range keys {
			if h, ok := kept[fmt.Sprintf("%X/%02X", k.RID, k.Index)]; ok {
				cas = append(cas, h)
				continue
			}
			ck, err := capkOf(k)
			if err != nil {
				return err
			}
			cas = append(cas, ck)
		}
		return p.install(func(d *emvconfig.Downloaded) bool {
			if sameKeys(d.CAKeys, cas) {
				return false
			}
			d.CAKeys = cas
			return true
		})
	})
	if err != nil {
		return err
	}
	p.log.Info("CA public keys in step with the host", "downloaded", fetched)
	return nil
}

// expiryOf is a key's expiry as the status upload lists it (YYYYMMDD).
func expiryOf(k capk.Key) string {
	if k.Expiry.IsZero() {
		return ""
	}
	return k.Expiry.Format("20060102")
}

// sameKeys reports whether two key sets hold the same keys in the same
// order (by RID, index, checksum and expiry).
func sameKeys(a, b []capk.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].RID != b[i].RID || a[i].Index != b[i].Index || a[i].Checksum != b[i].Checksum || expiryOf(a[i]) != expiryOf(b[i]) {
			return false
		}
	}
	return true
}

// refreshAIDs downloads the IC card parameters of the host's applications
// and installs them like the CA keys.
func (p *emvParams) refreshAIDs(ctx context.Context, c *acquirer.Client, batch uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := c.DownloadICParams(ctx, batch, func(params []acquirer.ICParams) error {
		var aids []emvconfig.DownloadedAID
		for _, x := range params {
			a := emvconfig.DownloadedAID{AID: x.AID, Partial: x.Partial, FloorLimit: x.FloorLimit, RandomThreshold: x.RandomThreshold,
				RandomTarget: x.RandomTarget, RandomMax: x.RandomMax, DDOL: x.DDOL,
				CLFloorLimit: x.CLFloorLimit, CLTxnLimit: x.CLTxnLimit, CLCVMLimit: x.CLCVMLimit}
			copy(a.Version[:], x.Version)
			copy(a.TACDefault[:], x.TACDefault)
			copy(a.TACOnline[:], x.TACOnline)
			copy(a.TACDenial[:], x.TACDenial)
			aids = append(aids, a)
		}
		return p.install(func(d *emvconfig.Downloaded) bool { d.AIDs = aids; return true })
	})
	if err != nil {
		return err
	}
	p.log.Info("IC card parameters downloaded")
	return nil
}

// install replaces one half of the stored set (set changes it and reports
// whether anything changed), checks the joined configuration, stores the
// set whole (atomically: the old file stays until the new one is
// complete), and gives it to the kernel for its next transaction.
func (p *emvParams) install(set func(*emvconfig.Downloaded) bool) error {
	d, err := emvconfig.LoadDownloaded(p.path)
	if err != nil {
		// A damaged set is replaced, not kept: the half not being
		// installed now comes again with its next download.
		p.log.Error("downloaded EMV parameters unreadable: replaced", "err", err)
		d = emvconfig.Downloaded{}
	}
	if !set(&d) && err == nil {
		return nil // unchanged: nothing is written
	}
	joined, err := p.base.WithDownloaded(d)
	if err != nil {
		return err
	}
	if err := emvconfig.SaveDownloaded(p.path, d); err != nil {
		return err
	}
	return p.kernel.SetConfig(joined)
}

// atSignOn is the CUP sign-on's download sequence, after the working keys:
// the CA public keys (status upload 372, then 370 for each key that
// changed, 371), then the IC card parameters (382, 380 for each AID, 381).
// A failure keeps what the terminal has and does not fail the sign-on.
func (p *emvParams) atSignOn(ctx context.Context, c *acquirer.Client, j *journal.Journal) {
	for _, what := range []int{acquirer.RequireCAKeys, acquirer.RequireICParams} {
		if err := p.download(ctx, what, c, j); err != nil {
			p.log.Warn("download at sign-on", "requirement", what, "err", err)
		}
	}
}

// capkOf is a downloaded key as the kernel holds it; the host must send
// the key's checksum, which the kernel verifies.
func capkOf(k acquirer.CAKey) (capk.Key, error) {
	var c capk.Key
	if len(k.RID) != 5 || len(k.Checksum) != 20 {
		return c, fmt.Errorf("CA key %X/%02X: RID or checksum missing", k.RID, k.Index)
	}
	copy(c.RID[:], k.RID)
	copy(c.Checksum[:], k.Checksum)
	c.Index, c.Modulus, c.Exponent, c.Algorithm = k.Index, k.Modulus, k.Exponent, k.Algorithm
	if k.Expiry != "" {
		t, err := time.Parse("20060102", k.Expiry)
		if err != nil {
			return c, fmt.Errorf("CA key %X/%02X: expiry %q", k.RID, k.Index, k.Expiry)
		}
		c.Expiry = t
	}
	return c, nil
}

// onFlag is what the terminal does when an answer carries a processing
// requirement: "download the CA public keys" (4) or "download the IC card
// parameters" (5) starts that download at once, beside the transaction
// that carried it (the client takes one exchange at a time), so that the
// next transaction has them. Other requirements are logged.
func (p *emvParams) onFlag(link *hostLink, j *journal.Journal) func(int) {
	return func(r int) {
		if r != acquirer.RequireCAKeys && r != acquirer.RequireICParams {
			p.log.Info("host requirement not acted on", "requirement", r)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := p.download(ctx, r, link.client(), j); err != nil {
				p.log.Warn("download the host asked for", "requirement", r, "err", err)
			}
		}()
	}
}

// download runs the download a processing requirement asks for.
func (p *emvParams) download(ctx context.Context, r int, c *acquirer.Client, j *journal.Journal) error {
	batch, err := j.Batch()
	if err != nil {
		return err
	}
	switch r {
	case acquirer.RequireCAKeys:
		return p.refresh(ctx, c, batch)
	case acquirer.RequireICParams:
		return p.refreshAIDs(ctx, c, batch)
	}
	return nil
}
