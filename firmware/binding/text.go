package binding

import (
	"errors"

	"kpos/firmware/qr"
)

// Text is a message for the merchant in Chinese and English.
type Text struct {
	ZH string
	EN string
}

// Text returns what the display says in each state.
func (s State) Text() Text {
	switch s {
	case StateBlank:
		return Text{"未绑定：请输入或扫描银行K码", "Not bound: enter or scan the bank's K code"}
	case StateRequesting:
		return Text{"正在申请激活…", "Requesting activation…"}
	case StateAwaitingOTP:
		return Text{"请输入短信验证码", "Enter the code sent to your phone by SMS"}
	case StateLockedOut:
		return Text{"验证码错误次数过多，请稍后再试", "Too many wrong codes: wait, then start again"}
	case StateActivated:
		return Text{"已激活，正在签到…", "Activated, signing on…"}
	case StateSigningOn:
		return Text{"正在签到…", "Signing on…"}
	case StateBound:
		return Text{"已绑定", "Bound"}
	case StateSuspended:
		return Text{"绑定已失效，暂停收款：请重新绑定", "Binding no longer valid, sales stopped: bind again"}
	}
	return Text{string(s), string(s)}
}

// Explain turns an error of this package (or of qr's code classification)
// into what the merchant reads; unknown errors get a generic message, and the
// caller logs the error itself.
func Explain(err error) Text {
	switch {
	case err == nil:
		return Text{}
	case errors.Is(err, ErrKCodeLength):
		return Text{"K码应为16位，请核对", "A K code has 16 characters: check it"}
	case errors.Is(err, ErrKCodeChar):
		return Text{"K码中不含 0、O、1、I，请核对", "K codes never contain 0, O, 1 or I: check it"}
	case errors.Is(err, ErrKCodeCheck):
		return Text{"K码校验错误，可能输错了，请核对", "K code check failed: probably a typo, check it"}
	case errors.Is(err, ErrForeignBank), errors.Is(err, ErrUnknownBank):
		return Text{"此K码不属于本终端的收单银行", "This K code is from another bank"}
	case errors.Is(err, ErrExpired) && errors.Is(err, ErrSuspended):
		return Text{"绑定已过期，暂停收款：请用新K码重新绑定", "Binding expired, sales stopped: bind again with a new K code"}
	case errors.Is(err, ErrRevoked):
		return Text{"银行已撤销绑定，暂停收款：请联系银行", "The bank revoked the binding, sales stopped: call the bank"}
	case errors.Is(err, ErrExpired):
		return Text{"K码已过期，请向银行申请新的K码", "K code expired: ask the bank for a new one"}
	case errors.Is(err, qr.ErrNotPaymentCode):
		return Text{"不是付款码，请出示付款码后重新扫描", "Not a payment code: show the payment code and scan again"}
	case errors.Is(err, ErrKCodeQR), errors.Is(err, qr.ErrCRC), errors.Is(err, qr.ErrMalformed):
		return Text{"无法识别的K码二维码，请重新扫描", "Unreadable K-code QR: scan again"}
	case errors.Is(err, ErrOTPFormat):
		return Text{"验证码为6位数字", "The SMS code has 6 digits"}
	case errors.Is(err, ErrWrongOTP):
		return Text{"验证码错误，请重新输入", "Wrong SMS code: enter it again"}
	case errors.Is(err, ErrLockedOut):
		return Text{"验证码错误次数过多，已锁定，请稍后重新绑定", "Too many wrong SMS codes: locked, start again later"}
	case errors.Is(err, ErrOTPExpired):
		return Text{"验证码已过期，请重新输入K码", "SMS code expired: enter the K code again"}
	case errors.Is(err, ErrCodeRejected):
		return Text{"银行不接受此K码（已使用或无效）", "The bank does not accept this K code (used or invalid)"}
	case errors.Is(err, ErrKeyInstall), errors.Is(err, ErrActivation):
		return Text{"激活失败，请联系银行", "Activation failed: call the bank"}
	case errors.Is(err, ErrNotBound):
		return Text{"终端未绑定，请先用K码绑定", "Terminal not bound: bind it with the K code first"}
	case errors.Is(err, ErrMethodNotAccepted):
		return Text{"本终端未开通此支付方式", "This payment method is not enabled on this terminal"}
	case errors.Is(err, ErrTxnLimit):
		return Text{"超过单笔限额", "Over the per-transaction limit"}
	case errors.Is(err, ErrDailyLimit):
		return Text{"超过当日限额", "Over the daily limit"}
	case errors.Is(err, ErrAccountNumber):
		return Text{"卡号有误，请核对", "Card number wrong: check it"}
	}
	return Text{"操作失败，请重试或联系客服", "Failed: try again or call support"}
}
