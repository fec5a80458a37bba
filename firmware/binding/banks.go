package binding

// Bank is an issuer of K codes, by its three-digit bank code (the CNAPS
// bank-type code, 行别代码).
type Bank struct {
	Code string
	ZH   string
	EN   string
	Test bool // a test bank: its codes are for test terminals only
}

// TestBank is the bank code of the test bank whose K codes the host
// simulator and the test data use.
const TestBank = "999"

// LookupBank returns the bank with the given code.
func LookupBank(code string) (Bank, bool) {
	switch code {
	case "102":
		return Bank{code, "中国工商银行", "ICBC", false}, true
	case "103":
		return Bank{code, "中国农业银行", "Agricultural Bank of China", false}, true
	case "104":
		return Bank{code, "中国银行", "Bank of China", false}, true
	case "105":
		return Bank{code, "中国建设银行", "China Construction Bank", false}, true
	case "301":
		return Bank{code, "交通银行", "Bank of Communications", false}, true
	case "308":
		return Bank{code, "招商银行", "China Merchants Bank", false}, true
	case "403":
		return Bank{code, "中国邮政储蓄银行", "Postal Savings Bank of China", false}, true
	case TestBank:
		return Bank{code, "KPOS测试银行", "KPOS Test Bank", true}, true
	}
	return Bank{}, false
}

// bankName names a bank for messages, falling back to its code.
func bankName(code string) string {
	if b, ok := LookupBank(code); ok {
		return b.EN + " (" + code + ")"
	}
	return "bank " + code
}
