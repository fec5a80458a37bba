package hostsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/tlslink"
	"kpos/firmware/keys"
	"kpos/hal"
	"kpos/hal/fake"
)

// startHost serves host on loopback, through TLS when cfg is set.
func startHost(t *testing.T, host *Server, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

func TestSM4Link(t *testing.T) {
	data, err := LoadData("../../testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	term := data.Terminals[0]
	term.Serial, term.TID, term.MID, term.Algorithm = "SM4-0001", "12345690", "898320154110090", "SM4"
	term.TMK = "0123456789ABCDEFFEDCBA9876543210" // TEST KEY (the GB/T 32907 example key)
	data.Terminals = append(data.Terminals, term)
	host, err := New(Config{Data: data, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	addr := startHost(t, host, nil)
	ks, err := keys.OpenConfig(filepath.Join(t.TempDir(), "k"), make([]byte, 16), keys.Config{Algorithm: keys.AlgSM4})
	if err != nil {
		t.Fatal(err)
	}
	tmk := mustHex(t, term.TMK)
	kcv, _ := keys.CheckValue(keys.AlgSM4, tmk)
	if err := ks.InstallTMK(tmk, kcv[:4]); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	c := acquirer.NewClient(acquirer.Config{Addr: addr, TPDU: tpdu, Header: hdr, TID: term.TID, MID: term.MID,
		Now: func() time.Time { return fixedNow }}, fake.NewLink(nil), ks)
	ctx := context.Background()
	if err := c.SignOn(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	icc, _, _ := iccData(t, upIMK, debitPAN, "01", 880, 0x0007, false)
	resp, err := c.Do(ctx, acquirer.Request{Kind: acquirer.KindSale, Trace: 2, Batch: 1, Amount: 880, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", PANSeq: "01", Entry: acquirer.EntryContactless, ICCData: icc, Time: fixedNow})
	if err != nil || !resp.Approved() {
		t.Fatalf("SM4 sale: %+v %v", resp, err)
	}
	// A 3DES terminal asking for SM4 keys is refused.
	r := newRig(t, nil)
	ks2, _ := keys.OpenConfig(filepath.Join(t.TempDir(), "k2"), make([]byte, 16), keys.Config{Algorithm: keys.AlgSM4})
	if err := ks2.InstallTMK(tmk, kcv[:4]); err != nil {
		t.Fatal(err)
	}
	c2 := acquirer.NewClient(acquirer.Config{Addr: r.addr, TPDU: tpdu, Header: hdr, TID: testTID, MID: testMID}, r.link, ks2)
	if err := c2.SignOn(ctx, 1, 1); !isCode(err, "40") {
		t.Fatalf("SM4 sign-on of a 3DES terminal: %v", err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostsim test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLSLink(t *testing.T) {
	host, err := New(Config{DataDir: "../../testdata/host", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t)
	addr := startHost(t, host, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	r := newRig(t, nil)
	r.host = host
	r.client = acquirer.NewClient(acquirer.Config{Addr: addr, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}, TID: testTID, MID: testMID,
		Secure: tlslink.Client(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, addr), Now: func() time.Time { return fixedNow }}, r.link, r.ks)
	r.signOn()
	if resp := r.do(r.chipSale(2000)); !resp.Approved() {
		t.Fatalf("sale over TLS %+v", resp)
	}
	// A host whose certificate the terminal does not trust: nothing is sent.
	untrusted := acquirer.NewClient(acquirer.Config{Addr: addr, TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0},
		Secure: tlslink.Client(&tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}, addr), DialAttempts: 1}, r.link, r.ks)
	if _, err := untrusted.Do(context.Background(), r.chipSale(2000)); !errors.Is(err, acquirer.ErrNotSent) {
		t.Fatalf("untrusted host: %v", err)
	}
	if n := len(r.records("authorization")); n != 1 {
		t.Fatalf("%d authorizations", n)
	}
}
