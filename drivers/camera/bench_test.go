package camera_test

import (
	"slices"
	"testing"
	"time"

	"kpos/drivers/camera"
	"kpos/tools/qrbench/corpus"
)

// BenchmarkDecode decodes the generated corpus, one sub-benchmark per
// variant, and reports the success rate ("ok/frame") and the median time per
// frame ("ms/frame-median") beside ns/op (the mean). tools/qrbench compares
// the same pipeline with gozxing, zxing-cpp and zbar.
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
			var times []float64
			for b.Loop() {
				f := frames[len(times)%len(frames)]
				t0 := time.Now()
				text, err := d.Decode(f.Image())
				times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
				if err == nil && text == f.Payload {
					ok++
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(ok)/float64(len(times)), "ok/frame")
			b.ReportMetric(times[len(times)/2], "ms/frame-median")
		})
	}
}
