// Package tlslink secures the acquirer link with TLS: it gives the
// acquirer client's Secure hook a TLS client handshake. It is a package of
// its own so that a firmware that does not use TLS links none of it
// (crypto/tls and crypto/x509 are a third of a megabyte on ARMv7).
//
// It knows nothing of ISO 8583; the acquirer package knows nothing of TLS.
package tlslink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// Client returns a Secure hook for acquirer.Config that runs a TLS client
// handshake on each new connection to addr. When cfg names no server, the
// host part of addr is the name the certificate must carry.
func Client(cfg *tls.Config, addr string) func(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	return func(ctx context.Context, conn net.Conn) (net.Conn, error) {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tlslink: handshake: %w", err)
		}
		return tc, nil
	}
}
