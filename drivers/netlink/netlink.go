// Package netlink is the acquirer link over the board's own network
// (Ethernet or Wi-Fi): plain TCP dials through the kernel's stack, and a
// status read from the network interfaces. The cellular modem is the other
// real hal.Link (drivers/modem).
package netlink

import (
	"context"
	"fmt"
	"net"
	"time"

	"kpos/hal"
)

// Config names the interface the terminal uses; empty means any that is up.
type Config struct {
	Interface   string        // e.g. "eth0", "wlan0"
	DialTimeout time.Duration // 10 s when zero
}

// Link dials TCP over the host network.
type Link struct {
	cfg    Config
	dialer net.Dialer
}

var _ hal.Link = (*Link)(nil)

// New returns a link.
func New(cfg Config) *Link {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	return &Link{cfg: cfg, dialer: net.Dialer{Timeout: cfg.DialTimeout}}
}

// Dial opens a TCP connection.
func (l *Link) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := l.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return c, nil
}

// Status reports whether the configured interface (or any non-loopback
// one) is up with an address.
func (l *Link) Status(ctx context.Context) (hal.LinkStatus, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return hal.LinkStatus{Signal: -1}, fmt.Errorf("netlink: %w", err)
	}
	st := hal.LinkStatus{Signal: -1}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || i.Flags&net.FlagUp == 0 {
			continue
		}
		if l.cfg.Interface != "" && i.Name != l.cfg.Interface {
			continue
		}
		addrs, _ := i.Addrs()
		if len(addrs) > 0 {
			st.Up, st.Registered, st.Operator = true, true, i.Name
			st.Detail = fmt.Sprintf("%s %s", i.Name, addrs[0])
			return st, nil
		}
	}
	st.Detail = "no network interface up"
	if l.cfg.Interface != "" {
		st.Detail = l.cfg.Interface + " down"
	}
	return st, nil
}
