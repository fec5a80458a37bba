package slip

import (
	"testing"

	"kpos/firmware/emv/status"
)

func TestCardDeclineReasonFromTheTVR(t *testing.T) {
	tvr := func(bits ...status.Bit) [5]byte {
		var v status.TVR
		for _, b := range bits {
			v.Set(b)
		}
		return v
	}
	cases := []struct {
		tvr    [5]byte
		screen string
	}{
		{tvr(status.TVRExpiredApplication, status.TVROnlinePINEntered), "卡片已过期 Card expired"},
		// Expired comes first, whatever else the TVR says.
		{tvr(status.TVRDDAFailed, status.TVRExpiredApplication), "卡片已过期 Card expired"},
		{tvr(status.TVRApplicationNotYetEffective), "卡片未生效 Card not yet valid"},
		{tvr(status.TVRPINTryLimitExceeded), "密码错误次数超限 PIN tries exceeded"},
		{tvr(status.TVRExceedsFloorLimit), "卡片拒绝 Declined by card"},
	}
	for _, c := range cases {
		if got, _ := DeclineReason(c.tvr); got != c.screen {
			t.Errorf("TVR %X: %q, want %q", c.tvr, got, c.screen)
		}
	}
}
