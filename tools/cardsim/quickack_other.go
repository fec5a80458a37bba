//go:build !linux

package cardsim

import "net"

// quickAck is a Linux socket option; elsewhere the link is only slower.
func quickAck(net.Conn) {}
