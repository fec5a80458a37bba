package acquirer

import "errors"

// What a merchant should do after an answer.
const (
	ActionNone      = "none"       // approved: carry on
	ActionDecline   = "decline"    // tell the customer; another card or payment method
	ActionRetry     = "retry"      // try the same transaction again
	ActionReenter   = "reenter"    // re-enter the PIN or the data and retry
	ActionCallBank  = "call-bank"  // the cardholder calls the issuer
	ActionSignOn    = "sign-on"    // the terminal signs on again (keys), then retries
	ActionSupport   = "support"    // the merchant calls the acquirer's support line
	ActionKeepCard  = "keep-card"  // do not return the card
	ActionReconcile = "reconcile"  // settlement differs: upload the batch
	ActionRebind    = "rebind"     // the terminal's binding is not valid: bind again
	ActionWait      = "wait"       // still in progress (QR): query again
	ActionCheckLink = "check-link" // no answer from the host
)

type codeText struct{ zh, en, action string }

// codeTexts are the response codes of the dialect (ISO 8583:1987 as
// China UnionPay uses them, plus this project's K-code activation codes).
var codeTexts = map[string]codeText{
	"00": {"交易成功", "Approved", ActionNone},
	"01": {"请持卡人与发卡行联系", "Refer to card issuer", ActionCallBank},
	"03": {"无效商户", "Invalid merchant", ActionSupport},
	"04": {"没收卡", "Pick up card", ActionKeepCard},
	"05": {"发卡行拒绝交易", "Do not honour", ActionDecline},
	"06": {"交易失败，请重试", "Error, try again", ActionRetry},
	"09": {"交易处理中，请稍后查询", "Request in progress", ActionWait},
	"10": {"部分金额批准", "Approved for partial amount", ActionNone},
	"11": {"重要客户批准", "Approved (VIP)", ActionNone},
	"12": {"无效交易", "Invalid transaction", ActionDecline},
	"13": {"无效金额", "Invalid amount", ActionReenter},
	"14": {"无效卡号", "Invalid card number", ActionDecline},
	"15": {"无此发卡行", "No such issuer", ActionDecline},
	"22": {"原交易不符，请联系发卡行", "Suspected malfunction", ActionSupport},
	"25": {"找不到原始交易", "Original transaction not found", ActionSupport},
	"30": {"报文格式错误", "Format error", ActionSupport},
	"33": {"过期卡，没收", "Expired card, pick up", ActionKeepCard},
	"34": {"可疑卡，没收", "Suspected fraud, pick up", ActionKeepCard},
	"40": {"发卡行不支持此交易", "Function not supported", ActionDecline},
	"41": {"挂失卡，没收", "Lost card, pick up", ActionKeepCard},
	"43": {"被窃卡，没收", "Stolen card, pick up", ActionKeepCard},
	"51": {"余额不足", "Insufficient funds", ActionDecline},
	"54": {"过期卡", "Expired card", ActionDecline},
	"55": {"密码错误", "Incorrect PIN", ActionReenter},
	"57": {"不允许持卡人进行此交易", "Transaction not permitted to cardholder", ActionDecline},
	"58": {"不允许终端进行此交易", "Transaction not permitted to terminal", ActionSupport},
	"59": {"有作弊嫌疑", "Suspected fraud", ActionDecline},
	"61": {"超出金额限制", "Exceeds withdrawal amount limit", ActionDecline},
	"62": {"受限制的卡", "Restricted card", ActionDecline},
	"64": {"原始金额不符", "Original amount incorrect", ActionSupport},
	"65": {"超出消费次数限制", "Exceeds withdrawal frequency limit", ActionDecline},
	"75": {"密码错误次数超限", "PIN tries exceeded", ActionCallBank},
	"90": {"日切处理中，请稍候", "Cut-off in progress", ActionRetry},
	"91": {"发卡行暂时不可用", "Issuer unavailable", ActionRetry},
	"92": {"无法路由", "Unable to route", ActionRetry},
	"94": {"重复交易", "Duplicate transmission", ActionSupport},
	"96": {"系统故障", "System malfunction", ActionRetry},
	"97": {"终端未登记", "Terminal not registered", ActionSupport},
	"98": {"发卡行超时", "Issuer response timeout", ActionRetry},
	"99": {"PIN格式错误，请重新签到", "PIN block error, sign on again", ActionSignOn},
	"A0": {"MAC校验错，请重新签到", "MAC error, sign on again", ActionSignOn},
	"A7": {"安全处理失败", "Security processing failed", ActionDecline},
	"K1": {"K码无效", "Invalid K code", ActionReenter},
	"K2": {"K码已过期", "K code expired", ActionRebind},
	"K3": {"K码已注销", "K code revoked", ActionRebind},
	"K4": {"验证码错误", "Wrong one-time code", ActionReenter},
	"K5": {"验证码错误次数过多，已锁定", "Too many wrong codes, locked", ActionSupport},
	"K6": {"验证码已过期，请重新激活", "One-time code expired, start again", ActionRetry},
}

// Describe returns what a response code means, in Chinese and English, and
// what to do about it (one of the Action constants). An unknown code is a
// decline with the code shown.
func Describe(code string) (zh, en string, action string) {
	if t, ok := codeTexts[code]; ok {
		return t.zh, t.en, t.action
	}
	return "交易失败(" + code + ")", "Declined (" + code + ")", ActionDecline
}

// DescribeError says what a failed exchange means to the merchant, in
// Chinese and English, and what to do: a host refusal as its response code,
// nothing sent as a network problem, no valid answer as a transaction that
// will be reversed, keys that do not verify as a new sign-on.
func DescribeError(err error) (zh, en string, action string) {
	var ce *CodeError
	switch {
	case err == nil:
		return Describe("00")
	case errors.As(err, &ce):
		return Describe(ce.Code)
	case errors.Is(err, ErrNotSent):
		return "无法连接银行，请检查网络后重试", "Cannot reach the bank: check the network and try again", ActionCheckLink
	case errors.Is(err, ErrNoAnswer) && errors.Is(err, ErrMAC):
		return "银行应答校验失败，交易将自动冲正，请重新签到", "The bank's answer failed its check: the transaction will be reversed; sign on again", ActionSignOn
	case errors.Is(err, ErrNoAnswer):
		return "银行无应答，交易将自动冲正", "No answer from the bank: the transaction will be reversed", ActionCheckLink
	case errors.Is(err, ErrKeys):
		return "密钥校验失败，请重新签到", "Key check failed: sign on again", ActionSignOn
	}
	return "交易失败，请联系客服", "Transaction failed: call support", ActionSupport
}
