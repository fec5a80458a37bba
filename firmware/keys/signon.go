package keys

import "fmt"

// ParseSignOnKeys splits the key data of a UnionPay sign-on response (field
// 62) into WorkingKeys. Each key is followed by its 4-byte check value:
//
//	24 bytes: PIN key (8)  KCV (4)  MAC key (8)  KCV (4)               single-length DES
//	40 bytes: PIN key (16) KCV (4)  MAC key (16) KCV (4)               3DES or SM4
//	60 bytes: PIN key (16) KCV (4)  MAC key (16) KCV (4) data key (16) KCV (4)
//
// A 16-byte 3DES MAC key whose last 8 bytes are zero is a single-length key
// (InstallWorkingKeys handles it). SM4 allows only the 40- and 60-byte forms.
// The returned slices alias field62.
func ParseSignOnKeys(alg Algorithm, field62 []byte) (WorkingKeys, error) {
	var klen int
	switch len(field62) {
	case 24:
		klen = 8
	case 40, 60:
		klen = 16
	default:
		return WorkingKeys{}, fmt.Errorf("%w: sign-on key data is %d bytes, want 24, 40 or 60", ErrFormat, len(field62))
	}
	if alg == AlgSM4 && klen != 16 {
		return WorkingKeys{}, fmt.Errorf("%w: SM4 sign-on key data is %d bytes, want 40 or 60", ErrFormat, len(field62))
	}
	if alg != AlgSM4 && alg != AlgTDES {
		return WorkingKeys{}, fmt.Errorf("%w: algorithm %q", ErrConfig, alg)
	}
	next := func(b []byte) (key, kcv, rest []byte) {
		return b[:klen:klen], b[klen : klen+4 : klen+4], b[klen+4:]
	}
	var w WorkingKeys
	rest := field62
	w.PIN, w.PINKCV, rest = next(rest)
	w.MAC, w.MACKCV, rest = next(rest)
	if len(rest) > 0 {
		w.Data, w.DataKCV, _ = next(rest)
	}
	return w, nil
}
