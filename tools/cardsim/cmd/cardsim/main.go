// Command cardsim puts a simulated EMV card into pcscd's vpcd virtual reader:
// it connects to the reader (the card is inserted), answers it until
// interrupted (the card is removed), and can keep re-inserting itself when
// pcscd restarts.
//
//	cardsim -profile testdata/cards/unionpay-debit.toml -vpcd 127.0.0.1:35963
//	cardsim -profile testdata/cards/visa-credit.toml -contactless
//
// The card's counters (ATC, PIN tries) persist while the process runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kpos/hal"
	"kpos/tools/cardsim"
)

func main() {
	profile := flag.String("profile", "testdata/cards/unionpay-debit.toml", "card profile file")
	addr := flag.String("vpcd", cardsim.DefaultVPCD, "address of pcscd's vpcd reader")
	contactless := flag.Bool("contactless", false, "present the card on its contactless interface")
	retry := flag.Duration("retry", 0, "when the reader is absent or goes away, insert the card again after this long (0: exit)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *profile, *addr, *contactless, *retry); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "cardsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, path, addr string, contactless bool, retry time.Duration) error {
	p, err := cardsim.LoadProfile(path)
	if err != nil {
		return err
	}
	iface := hal.Contact
	if contactless {
		iface = hal.Contactless
	}
	card, err := cardsim.New(p, iface)
	if err != nil {
		return err
	}
	for {
		log.Info("inserting card", "profile", p.Name, "pan", p.PAN, "interface", iface, "vpcd", addr)
		err := card.ServeVPCD(ctx, addr)
		log.Info("card removed", "profile", p.Name, "atc", card.ATC(), "commands", card.Commands(), "err", err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if retry <= 0 {
			return err
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
