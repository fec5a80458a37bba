package slip

import (
	"testing"

	"kpos/firmware/emv"
)

func TestCardDeclineReasonFromTheTVR(t *testing.T) {
	tvr := func(bits ...emv.Bit) [5]byte {
		var v emv.TVR
		for _, b := range bits {
			v.Set(b)
		}
		return v
	}
	cases := []struct {
		tvr    [5]byte
		screen string
	}{
		{tvr(emv.TVRExpiredApplication, emv.TVROnlinePINEntered), "卡片已过期 Card expired"},
		// Expired comes first, whatever else the TVR says.
		{tvr(emv.TVRDDAFailed, emv.TVRExpiredApplication), "卡片已过期 Card expired"},
		{tvr(emv.TVRApplicationNotYetEffective), "卡片未生效 Card not yet valid"},
		{tvr(emv.TVRPINTryLimitExceeded), "密码错误次数超限 PIN tries exceeded"},
		{tvr(emv.TVRExceedsFloorLimit), "卡片拒绝 Declined by card"},
	}
	for _, c := range cases {
		if got, _ := DeclineReason(c.tvr); got != c.screen {
			t.Errorf("TVR %X: %q, want %q", c.tvr, got, c.screen)
		}
	}
}
