package camera_test

import (
	"testing"

	"kpos/drivers/camera"
	"kpos/tools/qrbench/corpus"
)

// BenchmarkDecode decodes the generated corpus, one sub-benchmark per
// variant, and reports the success rate ("ok/frame") beside ns/op.
func BenchmarkDecode(b *testing.B) {
	const n = 12
	enc := corpus.NewEncoder()
	payloads := corpus.Payloads(1, n)
	for _, v := range corpus.Variants {
		var frames []corpus.Frame
		for i, p := range payloads {
			sym, err := enc.Encode(p)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, corpus.Generate(sym, p, v, 1, i))
		}
		b.Run(string(v), func(b *testing.B) {
			d := camera.NewDecoder(camera.DecoderConfig{})
			ok := 0
			i := 0
			for b.Loop() {
				f := frames[i%len(frames)]
				if text, err := d.Decode(f.Image()); err == nil && text == f.Payload {
					ok++
				}
				i++
			}
			b.ReportMetric(float64(ok)/float64(i), "ok/frame")
		})
	}
}
