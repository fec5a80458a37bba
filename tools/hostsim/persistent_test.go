package hostsim

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/tlslink"
	"kpos/hal/fake"
)

// trackingListener remembers the host's end of every connection it
// accepts, so that a test can close them as a host closing an idle
// connection would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, conn)
		l.mu.Unlock()
	}
	return conn, err
}

// dialer is a dial function that remembers the terminal's end of every
// connection, so that a test can wait until the terminal's side has seen
// the host close.
type dialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, conn)
		d.mu.Unlock()
	}
	return conn, err
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// TestKeptConnection: a terminal that keeps its connection sends every
// exchange on one; when the host closes it between exchanges, the next
// request goes on a new one without error; a terminal with the default
// opens one per exchange.
func TestKeptConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keep  bool
		dials int // after sign-on and three sales
	}{
		{"short connections (default)", false, 4},
		{"kept connection", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tl := &trackingListener{Listener: ln}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.host.Serve(ctx, tl) }()
			defer func() {
				cancel()
				<-done
			}()
			var dl dialer
			r.link = fake.NewLink(dl.dial)
			r.client = acquirer.NewClient(acquirer.Config{Addr: ln.Addr().String(), TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}, TID: testTID, MID: testMID,
				KeepConnection: tc.keep, Now: func() time.Time { return fixedNow }}, r.link, r.ks)
			defer r.client.Close()
			r.signOn()
			for range 3 {
				if resp := r.do(r.chipSale(1000)); !resp.Approved() {
					t.Fatalf("sale: %+v", resp)
				}
			}
			if got := r.link.Dials(); got != tc.dials {
				t.Fatalf("%d connections for four exchanges, want %d", got, tc.dials)
			}
			if !tc.keep {
				return
			}
			// The host drops the connection (idle timeout, restart): the
			// terminal notices before writing and dials again.
			tl.closeAll()
			// Wait until the close has reached the terminal's side (the
			// host's close(2) runs once its blocked read returns).
			dl.mu.Lock()
			first := dl.conns[0]
			dl.mu.Unlock()
			first.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := first.Read(make([]byte, 1)); err == nil {
				t.Fatal("the host sent bytes on an idle connection")
			}
			if resp := r.do(r.chipSale(1000)); !resp.Approved() {
				t.Fatalf("sale after the host closed the connection: %+v", resp)
			}
			if got := r.link.Dials(); got != 2 {
				t.Fatalf("%d connections, want 2 after the host closed the first", got)
			}
			if n := len(r.records("reversal")); n != 0 {
				t.Fatalf("%d reversals: a stale kept connection put a request in doubt", n)
			}
		})
	}
}

// A kept connection under TLS: one handshake for several exchanges.
func TestKeptConnectionTLS(t *testing.T) {
	host, err := New(Config{DataDir: "../../testdata/host", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t)
	addr := startHost(t, host, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	r := newRig(t, nil)
	r.host = host
	r.client = acquirer.NewClient(acquirer.Config{Addr: addr, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}, TID: testTID, MID: testMID,
		Secure: tlslink.Client(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, addr), KeepConnection: true, Now: func() time.Time { return fixedNow }}, r.link, r.ks)
	defer r.client.Close()
	r.signOn()
	for range 2 {
		if resp := r.do(r.chipSale(2000)); !resp.Approved() {
			t.Fatalf("sale over a kept TLS connection: %+v", resp)
		}
	}
	if got := r.link.Dials(); got != 1 {
		t.Fatalf("%d connections for three exchanges", got)
	}
}
