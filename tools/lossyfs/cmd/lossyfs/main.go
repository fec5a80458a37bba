// Command lossyfs mounts a filesystem that forgets what was not synced
// (package kpos/tools/lossyfs) and takes power cuts on a control socket.
//
//	go run ./tools/lossyfs/cmd/lossyfs -backing DIR -mount DIR -control SOCKET
package main

import (
	"os"

	"kpos/tools/lossyfs"
)

func main() { os.Exit(lossyfs.Main(os.Args[1:], os.Stderr)) }
