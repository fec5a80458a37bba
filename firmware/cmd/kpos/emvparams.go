package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
)

// emvParams keeps the kernel's CA public keys in step with the acquirer:
// the keys downloaded at the last sign-on (the CUP CA key download, 370 to
// 372) are stored in the data directory, replaced as a whole, and joined
// to the configuration files' keys; the kernel uses them from the next
// transaction.
type emvParams struct {
	base   emv.Config // the configuration files
	path   string     // the downloaded set
	kernel *emv.Kernel
	log    *slog.Logger

	mu sync.Mutex // one download at a time
}

// startConfig is the configuration the kernel starts with: the files and
// the set downloaded before. A damaged set is logged and left out; the
// next sign-on downloads it again.
func (p *emvParams) startConfig() emv.Config {
	d, err := emv.LoadDownloaded(p.path)
	if err == nil {
		var joined emv.Config
		if joined, err = p.base.WithDownloaded(d); err == nil {
			return joined
		}
	}
	p.log.Error("downloaded CA keys not used", "err", err)
	return p.base
}

// refresh downloads the host's CA public keys, stores them, and gives the
// kernel the joined configuration. A failure keeps the old set.
func (p *emvParams) refresh(ctx context.Context, c *acquirer.Client, batch uint32, nextTrace func() (uint32, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int
	_, err := c.DownloadInstallCAKeys(ctx, batch, func() uint32 {
		t, err := nextTrace()
		if err != nil {
			return 0 // refused by the client: out of range
		}
		return t
	}, func(keys []acquirer.CAKey) error {
		// Installed before the end message, which tells the host the
		// terminal holds the set.
		var d emv.Downloaded
		for _, k := range keys {
			ck, err := capkOf(k)
			if err != nil {
				return err
			}
			d.CAKeys = append(d.CAKeys, ck)
		}
		joined, err := p.base.WithDownloaded(d)
		if err != nil {
			return err
		}
		if err := emv.SaveDownloaded(p.path, d); err != nil {
			return err
		}
		n = len(d.CAKeys)
		return p.kernel.SetConfig(joined)
	})
	if err != nil {
		return err
	}
	p.log.Info("CA public keys downloaded", "keys", n)
	return nil
}

// capkOf is a downloaded key as the kernel holds it; the host must send
// the key's checksum, which the kernel verifies.
func capkOf(k acquirer.CAKey) (emv.CAPK, error) {
	var c emv.CAPK
	if len(k.RID) != 5 || len(k.Checksum) != 20 {
		return c, fmt.Errorf("CA key %X/%02X: RID or checksum missing", k.RID, k.Index)
	}
	copy(c.RID[:], k.RID)
	copy(c.Checksum[:], k.Checksum)
	c.Index, c.Modulus, c.Exponent = k.Index, k.Modulus, k.Exponent
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
// requirement: "download the CA public keys" starts the download at once,
// beside the transaction that carried it (the client takes one exchange at
// a time), so the next transaction has the new keys. Other requirements
// are logged.
func (p *emvParams) onFlag(link *hostLink, j *journal.Journal) func(int) {
	return func(r int) {
		if r != acquirer.RequireCAKeys {
			p.log.Info("host requirement not acted on", "requirement", r)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			batch, err := j.Batch()
			if err == nil {
				err = p.refresh(ctx, link.client(), batch, j.NextTrace)
			}
			if err != nil {
				p.log.Warn("CA key download the host asked for", "err", err)
			}
		}()
	}
}
