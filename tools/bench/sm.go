package main

import "fmt"

// The national algorithms beside the international ones, measured in the
// same run: SM2 against RSA for one DDA certificate chain
// (firmware/emv BenchmarkODAChain), SM4 against 3DES for the UnionPay MAC of
// 200 bytes (firmware/keys). The ratios are what to read; the absolute
// times depend on the machine.
func init() {
	figures = append(figures,
		figure{"ODA chain verification (issuer cert, ICC cert, SDAD)", "./firmware/emv", "BenchmarkODAChain", "µs/chain", 0, true, "200x"})
}

// printSMRatios prints SM2/RSA per certificate chain and SM4/3DES per MAC.
func printSMRatios(results map[string]map[string]float64) {
	ratio := func(what, unit, sm, intl string) {
		s, okS := results[sm][unit]
		r, okR := results[intl][unit]
		if !okS || !okR || r == 0 {
			fmt.Printf("%-62s %12s\n", what, "not measured")
			return
		}
		fmt.Printf("%-62s %12.1f %-16s (SM %.1f, RSA/3DES %.1f %s)\n", what, s/r, "x", s, r, unit)
	}
	fmt.Println()
	ratio("SM2 / RSA, one certificate chain verified", "µs/chain", "BenchmarkODAChain/sm2", "BenchmarkODAChain/rsa")
	ratio("SM4 / 3DES, UnionPay MAC of 200 bytes", "µs/mac", "BenchmarkMACSM4ECB200", "BenchmarkMACUnionPayECB200")
}
