// Command cardperso personalises the simulated cards' keys: it generates the
// project's test CA keys (one per scheme RID), the test issuer keys and the
// ICC keys of the card profiles as PEM files marked TEST KEY ONLY, and writes
// the CA public keys to the terminal's test CAPK file. Existing key files are
// kept unless -force is given, so the committed keys stay stable; the CAPK
// file is always rewritten from the CA keys.
//
// cardperso is a development tool. Nothing it generates may ever be used
// outside tests.
//
//	go run ./tools/cardperso -keys testdata/cards/keys -capk testdata/emv/capk-test.toml -host-capk testdata/host/capk.toml
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kpos/tools/cardsim"
)

// The test CA index: not used by any published CA key of the three RIDs.
const caIndex = 0xE1

// downloadOnlyIndex is the index of the UnionPay test CA key the terminal's
// files lack and the host hands out in the CA key download.
const downloadOnlyIndex = 0xE2

type keySpec struct {
	file string
	bits int
	what string
}

var schemes = []struct {
	rid, name, issuer string
}{
	{"A000000333", "UnionPay", "issuer-unionpay.pem"},
	{"A000000003", "Visa", "issuer-visa.pem"},
	{"A000000004", "Mastercard", "issuer-mastercard.pem"},
}

var iccProfiles = []string{"unionpay-debit", "unionpay-credit", "visa-credit", "visa-cvn18", "visa-cvn22", "mastercard-debit",
	"mastercard-cvn17", "multi-app", "expired", "unionpay-downloaded-ca"}

func main() {
	keys := flag.String("keys", "testdata/cards/keys", "directory of the PEM key files")
	capk := flag.String("capk", "testdata/emv/capk-test.toml", "CAPK file to write")
	hostCAPK := flag.String("host-capk", "testdata/host/capk.toml", "the host simulator's CA key list to write")
	force := flag.Bool("force", false, "regenerate keys that exist")
	flag.Parse()
	if err := run(*keys, *capk, *hostCAPK, *force); err != nil {
		fmt.Fprintln(os.Stderr, "cardperso:", err)
		os.Exit(1)
	}
}

func run(dir, capkPath, hostCAPKPath string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var specs []keySpec
	for _, s := range schemes {
		specs = append(specs,
			keySpec{caFile(s.rid), 1984, s.name + " test CA"},
			keySpec{s.issuer, 1408, s.name + " test issuer"})
	}
	specs = append(specs, keySpec{downloadOnlyFile, 1984, "UnionPay test CA distributed only by the host's CA key download"})
	for _, p := range iccProfiles {
		specs = append(specs, keySpec{"icc-" + p + ".pem", 1024, "ICC key of the " + p + " test card"})
	}
	for _, s := range specs {
		path := filepath.Join(dir, s.file)
		if _, err := os.Stat(path); err == nil && !force {
			continue
		}
		if err := generate(path, s.bits, s.what); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	var b strings.Builder
	b.WriteString("# The kpos test CA public keys: TEST KEYS ONLY, for the simulated cards in\n")
	b.WriteString("# testdata/cards. Written by tools/cardperso from testdata/cards/keys/ca-*.pem;\n")
	b.WriteString("# index E1 is used by no published key of these RIDs. Never load this file\n")
	b.WriteString("# on a production terminal.\n")
	for _, s := range schemes {
		k, err := cardsim.LoadTestKey(filepath.Join(dir, caFile(s.rid)))
		if err != nil {
			return err
		}
		rid, err := hex.DecodeString(s.rid)
		if err != nil {
			return err
		}
		b.WriteString("\n")
		b.WriteString(cardsim.PublicCA(rid, caIndex, k).TOML(s.name, "2035-12-31"))
	}
	if err := writeFile(capkPath, []byte(b.String())); err != nil {
		return err
	}
	// The host's CA key list starts as the terminal's; the E2 key is a
	// file of its own that a test adds to the host ("host capk add").
	all := b.String()
	host := "# The CA public keys the host simulator distributes in the CA key download\n" +
		"# (0800, network codes 370 to 372) when it starts: the kpos test CA keys the\n" +
		"# terminal is personalised with. TEST KEYS ONLY. Written by tools/cardperso.\n" +
		all[strings.Index(all, "\n\n")+1:]
	if err := writeFile(hostCAPKPath, []byte(host)); err != nil {
		return err
	}
	k, err := cardsim.LoadTestKey(filepath.Join(dir, downloadOnlyFile))
	if err != nil {
		return err
	}
	rid, _ := hex.DecodeString("A000000333")
	only := "# UnionPay test CA key E2, which the terminal's files lack: a test adds it to\n" +
		"# the host simulator (\"host capk add host/capk-download-only.toml\") and the\n" +
		"# terminal gets it only by the CA key download. TEST KEY ONLY. Written by\n" +
		"# tools/cardperso.\n\n" + cardsim.PublicCA(rid, downloadOnlyIndex, k).TOML("UnionPay", "2035-12-31")
	return writeFile(filepath.Join(filepath.Dir(hostCAPKPath), "capk-download-only.toml"), []byte(only))
}

// downloadOnlyFile is the private key of the UnionPay E2 test CA.
var downloadOnlyFile = fmt.Sprintf("ca-A000000333-%02X.pem", downloadOnlyIndex)

func caFile(rid string) string { return fmt.Sprintf("ca-%s-%02X.pem", rid, caIndex) }

func generate(path string, bits int, what string) error {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return fmt.Errorf("generate %s: %w", what, err)
	}
	blk := &pem.Block{
		Type: "RSA PRIVATE KEY",
		Headers: map[string]string{
			"Comment": "TEST KEY ONLY - " + what + " - kpos simulated cards, never for production",
		},
		Bytes: x509.MarshalPKCS1PrivateKey(k),
	}
	return writeFile(path, pem.EncodeToMemory(blk))
}

// writeFile replaces path atomically: temporary file, sync, close, rename.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cardperso-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
