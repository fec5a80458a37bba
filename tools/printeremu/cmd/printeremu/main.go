// Command printeremu runs the ESC/POS printer emulator on a pseudo-terminal
// for a terminal on the hil board or a technician's bench. It prints the pty
// path, optionally links it to a fixed path the board file names, writes each
// finished page as a text file (and each QR code on it as a PNG), and takes
// control commands on a Unix socket (see printeremu.Control) and signals:
// SIGUSR1 toggles paper out, SIGUSR2 toggles cover open.
//
//	printeremu -link /tmp/kpos-printer -control /tmp/kpos-printer.ctl -out pages/
//	echo "paper out" | socat - UNIX-CONNECT:/tmp/kpos-printer.ctl
package main

import (
	"context"
	"flag"
	"fmt"
	"image/png"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"kpos/tools/emuctl"
	"kpos/tools/printeremu"
)

func main() {
	columns := flag.Int("columns", 48, "characters per line (32 for 58 mm paper, 48 for 80 mm)")
	link := flag.String("link", "", "make this path a symbolic link to the pty")
	control := flag.String("control", "", "listen for control commands on this Unix socket")
	out := flag.String("out", "", "write finished pages to this directory")
	pngs := flag.Bool("png", false, "with -out, also write each QR code as a PNG")
	flag.Parse()
	if err := run(*columns, *link, *control, *out, *pngs); err != nil {
		fmt.Fprintln(os.Stderr, "printeremu:", err)
		os.Exit(1)
	}
}

func run(columns int, link, control, out string, pngs bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	count := 0
	onPage := func(p printeremu.Page) {
		count++
		log.Info("page", "n", count, "rows", len(p.Lines), "cut", p.Cut, "interrupted", p.Interrupted)
		if out == "" {
			return
		}
		if err := savePage(out, count, p, columns, pngs); err != nil {
			log.Error("save page", "err", err)
		}
	}
	emu, err := printeremu.New(printeremu.Options{Columns: columns, OnPage: onPage})
	if err != nil {
		return err
	}
	defer emu.Close()
	fmt.Println(emu.Path())

	if link != "" {
		remove, err := emuctl.Link(link, emu.Path())
		if err != nil {
			return err
		}
		defer remove()
	}
	if control != "" {
		stop, err := emuctl.Control(control, func(c net.Conn) error { return printeremu.Serve(emu, c) }, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-sigs:
			emu.Set(func(st *printeremu.State) {
				if s == syscall.SIGUSR1 {
					st.PaperOut = !st.PaperOut
				} else {
					st.CoverOpen = !st.CoverOpen
				}
			})
			log.Info("state", "state", fmt.Sprintf("%+v", emu.State()))
		}
	}
}

func savePage(dir string, n int, p printeremu.Page, columns int, pngs bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("page-%04d", n))
	if err := os.WriteFile(base+".txt", []byte(p.Text(columns)), 0o644); err != nil {
		return err
	}
	if !pngs {
		return nil
	}
	q := 0
	for _, l := range p.Lines {
		if l.QR == "" {
			continue
		}
		q++
		img, err := printeremu.Symbol([]byte(l.QR), 49, 6)
		if err != nil {
			return err
		}
		f, err := os.Create(fmt.Sprintf("%s-qr%d.png", base, q))
		if err != nil {
			return err
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
