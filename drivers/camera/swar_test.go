package camera

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// The word-parallel helpers must agree with the plain per-pixel rules.
func TestSWARHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var px [8]byte
		for i := range px {
			px[i] = byte(rng.IntN(256))
		}
		th := uint8(rng.IntN(256))
		var want uint32
		for i, p := range px {
			if p <= th {
				want |= 1 << i
			}
		}
		if got := darkBits(binary.LittleEndian.Uint64(px[:]), th); got != want {
			t.Fatalf("darkBits(%v, %d) = %08b, want %08b", px, th, got, want)
		}
	}
	for range 500 {
		block := make([]byte, 8*11)
		for i := range block {
			block[i] = byte(rng.IntN(256))
		}
		sum, lo, hi := 0, 255, 0
		for y := range 8 {
			for x := range 8 {
				p := int(block[y*11+x])
				sum += p
				lo, hi = min(lo, p), max(hi, p)
			}
		}
		gs, gl, gh := blockStats(block, 11)
		if gs != sum || gl != lo&^1 || gh != hi&^1 {
			t.Fatalf("blockStats = %d,%d,%d; want %d,%d,%d (min/max to 7 bits)", gs, gl, gh, sum, lo, hi)
		}
	}
	g := gray{w: 16, h: 4, pix: make([]byte, 64)}
	for i := range g.pix {
		g.pix[i] = byte(rng.IntN(256))
	}
	var d Decoder
	h := d.half(g)
	for y := range 2 {
		for x := range 8 {
			s := int(g.pix[2*y*16+2*x]) + int(g.pix[2*y*16+2*x+1]) + int(g.pix[(2*y+1)*16+2*x]) + int(g.pix[(2*y+1)*16+2*x+1])
			if int(h.pix[y*8+x]) != (s+2)>>2 {
				t.Fatalf("half at %d,%d = %d, want %d", x, y, h.pix[y*8+x], (s+2)>>2)
			}
		}
	}
}
