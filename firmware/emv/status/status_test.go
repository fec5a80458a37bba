package status

import (
	"fmt"
	"testing"
)

func TestTVRNames(t *testing.T) {
	var v TVR
	v.Set(TVRExpiredApplication)
	v.Set(TVRCDAFailed)
	if got := v.Names(); len(got) != 2 || got[0] != "CDA failed" || got[1] != "Expired application" {
		t.Errorf("names %v", got)
	}
	if fmt.Sprintf("%X", v[:]) != "0440000000" {
		t.Errorf("TVR %X", v)
	}
	var s TSI
	s.Set(TSIScriptProcessingPerformed)
	if !s.Has(TSIScriptProcessingPerformed) || s.Has(TSIIssuerAuthenticationPerformed) || s.Names()[0] != "Script processing was performed" {
		t.Errorf("TSI %X %v", s, s.Names())
	}
}
