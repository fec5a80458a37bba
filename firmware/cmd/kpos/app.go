package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"kpos/boards"
	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/keys"
	"kpos/firmware/terminal"
)

// app is the firmware running on a board. A power cut stops an instance
// without any clean-up and starts a new one from what is on disk.
type app struct {
	board   *boards.Board
	log     *slog.Logger
	crashAt string
	out     io.Writer

	mu   sync.Mutex
	inst *instance
}

type instance struct {
	journal *journal.Journal
	keys    *keys.Store
	term    *terminal.Terminal
	cancel  context.CancelFunc
	done    chan struct{}
	bootErr error
}

// start opens the journal and keys, boots the terminal (reversals first,
// then sign-on) and serves the counter in the background.
func (a *app) start(ctx context.Context) (*instance, error) {
	b := a.board
	j, err := journal.Open(filepath.Join(b.DataDir, "journal.db"), b.SubKey("journal"), journal.Options{})
	if err != nil {
		return nil, err
	}
	ks, err := keys.Open(filepath.Join(b.DataDir, "keys.db"), b.SubKey("keys"))
	if err != nil {
		j.Close()
		return nil, err
	}
	fail := func(err error) (*instance, error) {
		j.Close()
		return nil, err
	}
	if b.InitialTMK != nil && len(ks.Status()) == 0 {
		kcv, err := keys.CheckValue(keys.AlgTDES, b.InitialTMK)
		if err != nil {
			return fail(err)
		}
		if err := ks.InstallTMK(b.InitialTMK, kcv); err != nil {
			return fail(fmt.Errorf("load the test TMK: %w", err))
		}
	}
	emvCfg, err := emv.LoadConfig(filepath.Join(b.ParamsDir, "emv"))
	if err != nil {
		return fail(err)
	}
	kernel, err := emv.NewKernel(emvCfg, emv.WithLogger(a.log))
	if err != nil {
		return fail(err)
	}
	// The routing TPDU and header of the UnionPay POS dialect; an acquirer
	// that routes otherwise sends its own in the binding parameters.
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	header, _ := acquirer.ParseHeader("603100310100")
	client := acquirer.NewClient(acquirer.Config{Addr: b.HostAddr, TPDU: tpdu, Header: header, TID: b.Identity.TerminalID,
		MID: b.Identity.MerchantID, ReadTimeout: b.HostTimeout, Logger: a.log}, b.Link, ks)
	cfg := terminal.Config{MerchantName: b.Identity.MerchantName, MerchantID: b.Identity.MerchantID,
		TerminalID: b.Identity.TerminalID, Logger: a.log}
	if b.HostTimeout > 0 {
		// The terminal's own bound on one exchange leaves room for dialling.
		cfg.HostTimeout = 2 * b.HostTimeout
	}
	if a.crashAt != "" {
		point := a.crashAt
		cfg.Crash = func(at string) {
			if at == point {
				a.log.Warn("power cut injected", "point", at)
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	term := terminal.New(cfg, terminal.Devices{Reader: b.Reader, PINPad: b.PINPad, Printer: b.Printer,
		Display: b.Display, Keypad: b.Keypad, Indicator: b.Indicator}, kernel, client, ks, j)
	ictx, cancel := context.WithCancel(ctx)
	inst := &instance{journal: j, keys: ks, term: term, cancel: cancel, done: make(chan struct{})}
	bootCtx, bootCancel := context.WithTimeout(ictx, 60*time.Second)
	inst.bootErr = term.Boot(bootCtx)
	bootCancel()
	if inst.bootErr != nil {
		a.log.Error("boot", "err", inst.bootErr)
	}
	go func() {
		defer close(inst.done)
		if err := term.Run(ictx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("terminal stopped", "err", err)
		}
	}()
	a.mu.Lock()
	a.inst = inst
	a.mu.Unlock()
	return inst, nil
}

// stop halts an instance. With clean false it is a power cut: nothing more
// is written; the journal file is simply let go.
func (a *app) stop(inst *instance) {
	inst.cancel()
	select {
	case <-inst.done:
	case <-time.After(5 * time.Second):
		a.log.Error("terminal did not stop in time")
	}
	inst.journal.Close()
}

func (a *app) current() *instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inst
}
