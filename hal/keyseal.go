package hal

import "context"

// KeySealer protects the terminal's device key with something only this
// device has: a TPM, a TEE, or a secret fused into the SoC. Sealed bytes
// may be stored anywhere; on any other device, or after tampering, Unseal
// fails. The device key itself never leaves the firmware's memory in the
// clear.
type KeySealer interface {
	Seal(ctx context.Context, key []byte) ([]byte, error)
	Unseal(ctx context.Context, sealed []byte) ([]byte, error)
}
