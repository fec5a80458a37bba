package terminal

// describe gives a response code's meaning in Chinese and English.
func describe(code string) (zh, en string) {
	if m, ok := responseTexts[code]; ok {
		return m[0], m[1]
	}
	return "交易失败", "Declined"
}

var responseTexts = map[string][2]string{
	"00": {"交易成功", "Approved"},
	"01": {"请持卡人与发卡行联系", "Refer to card issuer"},
	"03": {"无效商户", "Invalid merchant"},
	"05": {"不予承兑", "Do not honour"},
	"12": {"无效交易", "Invalid transaction"},
	"13": {"无效金额", "Invalid amount"},
	"14": {"无效卡号", "Invalid card number"},
	"25": {"找不到原始交易", "Original not found"},
	"30": {"格式错误", "Format error"},
	"41": {"挂失卡", "Lost card"},
	"43": {"被窃卡", "Stolen card"},
	"51": {"余额不足", "Insufficient funds"},
	"54": {"过期卡", "Expired card"},
	"55": {"密码错误", "Incorrect PIN"},
	"57": {"不允许持卡人进行的交易", "Not permitted to cardholder"},
	"61": {"超出金额限制", "Exceeds amount limit"},
	"75": {"密码错误次数超限", "PIN tries exceeded"},
	"91": {"发卡行不能操作", "Issuer unavailable"},
	"94": {"重复交易", "Duplicate transaction"},
	"96": {"系统故障", "System malfunction"},
	"A0": {"MAC校验错", "MAC error: sign on again"},
}
