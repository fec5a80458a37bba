// Command fwsign makes and checks signed kpos firmware images.
//
//	fwsign keygen -out NAME            write NAME.key (private) and NAME.pub
//	fwsign sign -key K -version V -board B -in BIN -out IMG
//	fwsign verify -pub P [-board B] -in IMG
//
// Images are described in package kpos/firmware/update. fwsign runs on a
// build machine, never on a terminal; it must not know anything of the
// terminal beyond the image format.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"kpos/firmware/update"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const usage = `usage:
  fwsign keygen -out NAME [-test]   write NAME.key (private, mode 0600) and NAME.pub
  fwsign sign -key KEY -version VER -board BOARD -in BINARY -out IMAGE
  fwsign verify -pub PUB [-board BOARD] -in IMAGE`

// errUsage reports a bad command line.
var errUsage = errors.New("fwsign: bad usage")

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "sign":
		return sign(args[1:], stdout, stderr)
	case "verify":
		return verify(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fwsign "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// testBanner heads key files made with -test so nobody mistakes them for
// production keys.
const testBanner = "TEST ONLY - this key signs firmware for tests and the simulated board.\n" +
	"It is published; never use it for an image that goes to a real terminal.\n\n"

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	out := fs.String("out", "", "file name prefix for NAME.key and NAME.pub")
	test := fs.Bool("test", false, "mark both files TEST ONLY")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: keygen needs -out NAME", errUsage)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("fwsign: generating key: %w", err)
	}
	privPEM, err := update.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	pubPEM, err := update.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	if *test {
		privPEM = append([]byte(testBanner), privPEM...)
		pubPEM = append([]byte(testBanner), pubPEM...)
	}
	if err := writeNew(*out+".key", privPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", pubPEM, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.key and %s.pub\n", *out, *out)
	return nil
}

// writeNew creates path, refusing to overwrite a key that already exists.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("fwsign: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fwsign: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fwsign: closing %s: %w", path, err)
	}
	return nil
}

func sign(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign", stderr)
	keyPath := fs.String("key", "", "private key (PEM, PKCS #8 Ed25519)")
	version := fs.String("version", "", "firmware version (semantic versioning)")
	board := fs.String("board", "", "board the image is for")
	in := fs.String("in", "", "firmware binary")
	out := fs.String("out", "", "image to write")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *keyPath == "" || *version == "" || *board == "" || *in == "" || *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: sign needs -key, -version, -board, -in and -out", errUsage)
	}
	keyPEM, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	priv, err := update.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(*in)
	if err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	img, err := update.Sign(priv, *version, *board, payload)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, img, 0o644); err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	fmt.Fprintf(stdout, "signed %s %s for %s: %d payload bytes, image %s\n", *in, *version, *board, len(payload), *out)
	return nil
}

func verify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	pubPath := fs.String("pub", "", "public key (PEM, PKIX Ed25519)")
	board := fs.String("board", "", "refuse an image for another board")
	in := fs.String("in", "", "image to check")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *pubPath == "" || *in == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: verify needs -pub and -in", errUsage)
	}
	pubPEM, err := os.ReadFile(*pubPath)
	if err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	pub, err := update.ParsePublicKey(pubPEM)
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("fwsign: %w", err)
	}
	defer f.Close()
	h, err := update.Verify(f, pub, io.Discard)
	if err != nil {
		return err
	}
	if *board != "" && h.Board != *board {
		return fmt.Errorf("%w: image for %q, want %q", update.ErrBoard, h.Board, *board)
	}
	fmt.Fprintf(stdout, "ok: version %s, board %s, %d payload bytes, signature valid\n", h.Version, h.Board, h.PayloadLen)
	return nil
}
