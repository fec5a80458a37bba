package qr

import "fmt"

// CRC16 returns the CRC-16/CCITT-FALSE of b: polynomial 0x1021, initial value
// 0xFFFF, no reflection, no final XOR. EMVCo merchant-presented payloads carry
// it in data object 63, computed over the whole payload up to and including
// "6304".
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// CRC16Hex returns CRC16 of s as four upper-case hexadecimal digits, the form
// data object 63 and the K-code QR carry.
func CRC16Hex(s string) string {
	return fmt.Sprintf("%04X", CRC16([]byte(s)))
}
