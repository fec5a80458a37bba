package acquirer

import "kpos/firmware/acquirer/cupmsg"

// The SM mode of the dialect (docs/acquirer.md, "SM mode"; docs/keys.md says
// what it rests on and where it is ambiguous). A terminal is in SM mode when
// its acquirer parameters say so (keys.Config{Algorithm: keys.AlgSM4}):
//
//   - sign-on asks for SM4 working keys (60.3 = 005), checked by their SM4
//     check values (the key encrypting 16 zero bytes, first 4 bytes);
//   - field 53 position 2 names the PIN key's algorithm: 6 double-length 3DES,
//     7 SM4 (SecurityControlSM4);
//   - field 52 carries the 16-byte SM4 PIN block (pinblock.FormatSM4 under the
//     SM4 PIN key): b128 in SM mode where it is b64 in 3DES mode;
//   - field 64 is the SM4 form of the UnionPay ECB MAC (keys.MACSM4ECB).
//
// A message of one mode is never valid in the other: the host refuses a
// 3DES PIN block, field 53 or MAC from an SM terminal, and the reverse.

// pinBlockLen is field 52's length for a field 53 value.
func pinBlockLen(security string) int {
	if security == SecurityControlSM4 {
		return PINBlockLenSM4
	}
	return 8
}

// CAKeySM2 is the key algorithm indicator (DF07) of an SM2 CA public key in
// the CA key download, as in the UnionPay CA key list.
const CAKeySM2 = cupmsg.CAKeySM2
