package hostsim

import (
	"encoding/hex"
	"strings"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
)

// The SM mode of the dialect, as the acquirer runs it for a terminal whose
// parameters say SM4 (terminals.toml algorithm = "SM4"): SM4 working keys at
// sign-on, field 53 "27…", the 16-byte SM4 PIN block in field 52 and the SM4
// MAC (firmware/acquirer/sm.go). The host knows the mode from the terminal
// (field 41), not from the message: a message in the other mode's form is
// refused, never reinterpreted.

// codeSecurity is the answer to a message whose security does not match the
// terminal's mode (UnionPay A7, security processing failure).
const codeSecurity = "A7"

// unpackRequest unpacks a request with the codec of its terminal's mode: the
// fields before 52 are the same in both, so field 41 read in either names
// the terminal.
func (s *Server) unpackRequest(body []byte) (*iso8583.Message, error) {
	m, err := s.codec.Unpack(body)
	if err == nil && !s.smTerminal(acquirer.FieldString(m, 41)) {
		return m, nil
	}
	sm, smErr := s.smCodec.Unpack(body)
	if smErr == nil && s.smTerminal(acquirer.FieldString(sm, 41)) {
		return sm, nil
	}
	if err == nil {
		return m, nil // an SM terminal's message in 3DES form: refused by its field 53 or MAC
	}
	return nil, err
}

func (s *Server) smTerminal(tid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.terms[tid]
	return tk != nil && tk.alg == keys.AlgSM4
}

// securityModeCode checks field 53 and the PIN block's size against the
// terminal's mode; "" when they agree or the message carries no PIN.
func securityModeCode(tk *termState, m *iso8583.Message) string {
	var req cupmsg.Request
	if err := cupmsg.Unmarshal(m, &req); err != nil {
		return codeSecurity
	}
	f53, f52 := req.Security, cupmsg.Bytes(req.PINBlock)
	want, n := acquirer.SecurityControl3DES, 8
	if tk.alg == keys.AlgSM4 {
		want, n = acquirer.SecurityControlSM4, acquirer.PINBlockLenSM4
	}
	if f53 != "" && f53 != want {
		return codeSecurity
	}
	if f52 != nil && (len(f52) != n || f53 == "") {
		return codeSecurity
	}
	return ""
}

// decodePIN reads the PIN from a clear block of the terminal's mode.
func decodePIN(alg keys.Algorithm, clearBlock []byte, pan string) ([]byte, error) {
	if alg == keys.AlgSM4 {
		return pinblock.DecodeSM4(clearBlock, pan)
	}
	return pinblock.Decode(clearBlock, pan)
}

// recordSecurity notes in an authorization's record the link mode it came
// in and the TVR the terminal sent (tag 95 of field 55).
func recordSecurity(rec *Record, tk *termState, iccData []byte) {
	rec.Security = string(tk.alg)
	objs, err := tlv.Parse(iccData)
	if err != nil {
		return
	}
	if t, ok := tlv.Find(objs, 0x95); ok {
		rec.TVR = strings.ToUpper(hex.EncodeToString(t.Value))
	}
}
