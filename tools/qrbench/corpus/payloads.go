package corpus

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Payloads returns n payloads of the kinds a terminal in China scans or
// shows, in a fixed rotation of kinds, deterministic for seed. They are
// ASCII: merchant names are in pinyin so that every decoder's character-set
// guess agrees on the text.
func Payloads(seed uint64, n int) []string {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	kinds := []func(*rand.Rand) string{emvcoMPM, unionPayCode, weChatCode, alipayCode, emvcoMPMAmount, merchantURL}
	out := make([]string, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)](rng)
	}
	return out
}

func digits(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	return b.String()
}

func alnum(rng *rand.Rand, n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for range n {
		b.WriteByte(set[rng.IntN(len(set))])
	}
	return b.String()
}

// tlv is one EMVCo data object: two-digit ID, two-digit length, value.
func tlv(id, v string) string { return fmt.Sprintf("%s%02d%s", id, len(v), v) }

// crc16 is CRC-16/CCITT-FALSE as EMVCo's tag 63 uses.
func crc16(s string) string {
	crc := uint16(0xffff)
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return fmt.Sprintf("%04X", crc)
}

var names = []string{"ZHANG SAN NOODLES", "BEIJING FRUIT SHOP", "HUALIAN SUPERMARKET", "LI SI TEA HOUSE", "WANGFUJING BOOKS", "CHEN JI DUMPLINGS"}
var cities = []string{"BEIJING", "SHANGHAI", "GUANGZHOU", "SHENZHEN", "HANGZHOU", "CHENGDU"}

func mpm(rng *rand.Rand, amount bool) string {
	initMethod := "11"
	if amount {
		initMethod = "12"
	}
	acct := tlv("00", "A000000333010101") + tlv("01", "4"+digits(rng, 7)+digits(rng, 15))
	s := tlv("00", "01") + tlv("01", initMethod) + tlv("15", "9156"+digits(rng, 11)+digits(rng, 15)) +
		tlv("29", tlv("00", "D15600000000")+tlv("05", "A"+digits(rng, 9))) + tlv("30", acct) +
		tlv("52", fmt.Sprintf("%04d", 5000+rng.IntN(900))) + tlv("53", "156")
	if amount {
		s += tlv("54", fmt.Sprintf("%d.%02d", 1+rng.IntN(2000), rng.IntN(100)))
	}
	s += tlv("58", "CN") + tlv("59", names[rng.IntN(len(names))]) + tlv("60", cities[rng.IntN(len(cities))]) +
		tlv("62", tlv("05", digits(rng, 12))+tlv("07", "T"+digits(rng, 7)))
	s += "6304"
	return s + crc16(s)
}

// emvcoMPM is a static EMVCo merchant-presented code with a UnionPay account.
func emvcoMPM(rng *rand.Rand) string { return mpm(rng, false) }

// emvcoMPMAmount is a dynamic one carrying the amount.
func emvcoMPMAmount(rng *rand.Rand) string { return mpm(rng, true) }

// unionPayCode is a consumer-presented UnionPay payment code: 19 digits from 62.
func unionPayCode(rng *rand.Rand) string { return "62" + digits(rng, 17) }

// weChatCode is an 18-digit WeChat Pay payment code starting 10–15.
func weChatCode(rng *rand.Rand) string { return fmt.Sprintf("1%d", rng.IntN(6)) + digits(rng, 16) }

// alipayCode is an Alipay payment code, 16–24 digits starting 25–30.
func alipayCode(rng *rand.Rand) string {
	return fmt.Sprintf("%d", 25+rng.IntN(6)) + digits(rng, 14+rng.IntN(9))
}

// merchantURL is a merchant's static code as the wallets print them.
func merchantURL(rng *rand.Rand) string {
	switch rng.IntN(3) {
	case 0:
		return "https://qr.95516.com/00010000/" + digits(rng, 20)
	case 1:
		return "wxp://f2f0" + alnum(rng, 30)
	}
	return "https://qr.alipay.com/" + strings.ToLower(alnum(rng, 22))
}
