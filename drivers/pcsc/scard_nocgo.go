//go:build !cgo

package pcsc

// Open reports ErrNoCGO: without cgo the driver cannot reach libpcsclite.
func Open(cfg Config) (*Reader, error) { return nil, ErrNoCGO }
