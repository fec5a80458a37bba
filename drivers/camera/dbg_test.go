package camera

import (
	"fmt"
	"testing"
	"time"

	"kpos/tools/qrbench/corpus"
)

func TestDbg(t *testing.T) {
	enc := corpus.NewEncoder()
	for _, seed := range []uint64{1, 2, 3} {
		ps := corpus.Payloads(seed, 24)
		d := NewDecoder(DecoderConfig{Budget: time.Second})
		for _, v := range []corpus.Variant{corpus.LowContrast, corpus.Blur} {
			for i, p := range ps {
				sym, _ := enc.Encode(p)
				f := corpus.Generate(sym, p, v, seed, i)
				text, err := d.Decode(f.Image())
				if err == nil && text == p {
					continue
				}
				g := gray{w: 640, h: 480, pix: f.Pix}
				line := ""
				for _, a := range attempts {
					d.halfOK = false
					src := g
					if a.prep != nil {
						src = a.prep(d, g)
					}
					a.bin(d, src)
					text, det, _ := d.read(a.harder)
					c := "-"
					if text == p {
						c = "OK"
					} else if det != nil {
						c = "s"
					}
					line += fmt.Sprintf(" %s:%s", a.name, c)
				}
				t.Logf("seed %d %s %d %s N=%d err=%v |%s", seed, v, i, f.Param, sym.N, err, line)
			}
		}
	}
}
