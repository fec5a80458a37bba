package pinblock

// The 16-byte clear PIN block of the UnionPay SM mode: the ISO 9564 format 0
// block widened to the SM4 block size. The PIN field (0, length, PIN digits)
// is filled with F to 32 nibbles, and the account field is the format 0 one
// preceded by eight zero bytes:
//
//	PIN field      0N PPPP…P FFFF…F            (16 bytes)
//	account field  00000000 00000000 0000 PAN12 (16 bytes: 8 zero bytes, then format 0's)
//	clear block    PIN field XOR account field
//
// So the first eight bytes are the PIN field in the clear, and the last eight
// are FF…FF XOR the format 0 account field. docs/keys.md says where this comes
// from and what is ambiguous about it.

// SM4Len is the size of the SM4 clear PIN block.
const SM4Len = 16

// FormatSM4 returns the 16-byte SM4 clear PIN block for pin and pan.
func FormatSM4(pin []byte, pan string) ([SM4Len]byte, error) {
	var out [SM4Len]byte
	f0, err := Format0(pin, pan)
	if err != nil {
		return out, err
	}
	defer Wipe(f0[:])
	acct, err := accountField(pan)
	if err != nil {
		return out, err
	}
	for i := range 8 {
		out[i] = f0[i] ^ acct[i] // the PIN field
		out[8+i] = 0xFF ^ acct[i]
	}
	return out, nil
}

// DecodeSM4 recovers the PIN digits from a 16-byte SM4 clear block, for the
// host simulator and for tests. The caller wipes the result.
func DecodeSM4(block []byte, pan string) ([]byte, error) {
	if len(block) != SM4Len {
		return nil, ErrBlock
	}
	acct, err := accountField(pan)
	if err != nil {
		return nil, err
	}
	var f0 [8]byte
	defer Wipe(f0[:])
	for i := range 8 {
		if block[8+i] != 0xFF^acct[i] {
			return nil, ErrBlock
		}
		f0[i] = block[i] ^ acct[i]
	}
	pin, err := Decode(f0[:], pan)
	if err != nil {
		return nil, err
	}
	if f0[0]>>4 != 0 {
		Wipe(pin)
		return nil, ErrBlock
	}
	return pin, nil
}

// blockSizer is a PIN cipher that says which clear block it takes: 8 bytes
// (format 0, 3DES) or 16 (SM4).
type blockSizer interface{ ClearBlockLen() int }

// ForCipher builds the clear block a PIN cipher takes: the 16-byte SM4 block
// when the cipher says so, otherwise the 8-byte format 0 block. The caller
// wipes the result.
func ForCipher(pin []byte, pan string, cipher any) ([]byte, error) {
	if bs, ok := cipher.(blockSizer); ok && bs.ClearBlockLen() == SM4Len {
		b, err := FormatSM4(pin, pan)
		return b[:], err
	}
	b, err := Format0(pin, pan)
	return b[:], err
}
