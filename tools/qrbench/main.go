// Command qrbench is the QR decoding benchmark. It generates the
// benchmark's corpora (package corpus): "camera" (payment payloads drawn as
// a camera sees a printed or displayed code: clean, blurred, noisy, low in
// contrast, rotated, in perspective), "screen" (the degradations of a phone
// screen: moiré, glare, small modules, steep perspective) and "charset"
// (text in UTF-8, Shift_JIS and ISO-8859 with and without an ECI). Every
// frame is decoded, in the same run, by
//
//   - kpos: the camera driver's Decoder, as the driver runs it;
//   - gozxing: gozxing's QR reader alone, on its hybrid binarizer, no hints;
//   - zxing-cpp and zbar: small C harnesses (refs/) built by this command
//     against Debian's libzxing-dev and libzbar-dev.
//
// Timing. Each decoder is timed in process on the same frames in memory,
// decoding only: no process start, no file reading, no image conversion.
// Times are CPU time (the decoding thread's for kpos and gozxing, the
// process's for the C harnesses), so that a machine shared with other work
// gives comparable figures. Success means the exact text was returned.
//
// For each corpus it prints a table by variant and the line
//
//	bench: qr corpus=<name> kpos=<n>/<total> zxing-cpp=<n> zbar=<n> gozxing=<n> kpos-p95=<ms>
//
// Usage: go run ./tools/qrbench [-n frames per variant] [-seed n] [-corpus name] [-keep dir] [-strict].
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/sys/unix"

	"kpos/drivers/camera"
	"kpos/tools/qrbench/corpus"
)

// Goals of issue 15: at least zxing-cpp's count on every corpus, and a 95th
// percentile of kpos's time per frame within goalP95 ms.
const goalP95 = 15.0

func main() {
	n := flag.Int("n", 24, "frames per variant")
	seed := flag.Uint64("seed", 1, "corpus seed")
	budget := flag.Duration("budget", 0, "camera pipeline time budget per frame (0: the driver's default)")
	only := flag.String("corpus", "", "run only this corpus")
	refs := flag.Bool("refs", true, "run the reference decoders")
	keep := flag.String("keep", "", "write the frames (PGM) to this directory and keep them")
	strict := flag.Bool("strict", false, "exit 1 when a goal is missed")
	flag.Parse()
	ok, err := run(os.Stdout, options{n: *n, seed: *seed, budget: *budget, only: *only, refs: *refs, keep: *keep})
	if err != nil {
		fmt.Fprintln(os.Stderr, "qrbench:", err)
		os.Exit(1)
	}
	if *strict && !ok {
		os.Exit(1)
	}
}

type options struct {
	n      int
	seed   uint64
	budget time.Duration
	only   string
	refs   bool
	keep   string
}

// frame is one frame of a corpus with the text it must decode to.
type frame struct {
	variant corpus.Variant
	text    string
	img     *image.Gray
}

// result is one decoder's outcome on one frame.
type result struct {
	ok bool
	ms float64 // CPU time
}

// decoderRun is one decoder's results on a corpus, frame by frame.
type decoderRun struct {
	name    string
	missing string // why it did not run
	res     []result
}

func run(out io.Writer, o options) (bool, error) {
	start := time.Now()
	dir := o.keep
	if dir == "" {
		d, err := os.MkdirTemp("", "qrbench")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	var harnesses []harness
	if o.refs {
		harnesses = buildHarnesses(dir)
	}
	enc := corpus.NewEncoder()
	fmt.Fprintf(out, "QR decoding benchmark: %d frames per variant, %dx%d, seed %d, payload encoder %s\n",
		o.n, corpus.Width, corpus.Height, o.seed, enc.Name)
	dec := camera.NewDecoder(camera.DecoderConfig{Budget: o.budget})
	allOK := true
	var lines []string
	for _, c := range corpus.Corpora {
		if o.only != "" && c.Name != o.only {
			continue
		}
		frames, err := generate(c, enc, o)
		if err != nil {
			return false, err
		}
		file := filepath.Join(dir, c.Name+".pgm")
		if err := writeFrames(file, frames); err != nil {
			return false, err
		}
		runs := []decoderRun{runKpos(dec, frames), runGozxing(frames)}
		for _, h := range harnesses {
			runs = append(runs, h.run(file, frames))
		}
		ok, line := report(out, c, runs, frames)
		allOK = allOK && ok
		lines = append(lines, line)
	}
	fmt.Fprintf(out, "\nattempts that decoded (kpos): %s\n", formatStats(dec.Stats()))
	fmt.Fprintf(out, "whole run %.1fs\n\n", time.Since(start).Seconds())
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return allOK, nil
}

// generate draws every frame of corpus c.
func generate(c corpus.Corpus, enc corpus.Encoder, o options) ([]frame, error) {
	var frames []frame
	payloads := corpus.Payloads(o.seed, o.n)
	syms := make([]corpus.Symbol, len(payloads))
	for _, v := range c.Variants {
		var texts []string
		var vsyms []corpus.Symbol
		if slices.Contains(corpus.CharsetVariants, v) {
			for _, s := range corpus.Samples(v, o.n) {
				sym, err := corpus.EncodeSample(s)
				if err != nil {
					return nil, err
				}
				texts, vsyms = append(texts, s.Text), append(vsyms, sym)
			}
		} else {
			for i, p := range payloads {
				if syms[i].N == 0 {
					s, err := enc.Encode(p)
					if err != nil {
						return nil, err
					}
					syms[i] = s
				}
			}
			texts, vsyms = payloads, syms
		}
		for i := range o.n {
			f := corpus.Generate(vsyms[i], texts[i], v, o.seed, i)
			frames = append(frames, frame{variant: v, text: texts[i], img: f.Image()})
		}
	}
	return frames, nil
}

// writeFrames writes the frames as one file of binary PGM images, the
// harnesses' input.
func writeFrames(name string, frames []frame) error {
	var b bytes.Buffer
	for _, f := range frames {
		r := f.img.Bounds()
		fmt.Fprintf(&b, "P5\n%d %d\n255\n", r.Dx(), r.Dy())
		b.Write(f.img.Pix)
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// runKpos decodes with the camera driver's Decoder, timing the CPU of the
// decoding thread.
func runKpos(dec *camera.Decoder, frames []frame) decoderRun {
	r := decoderRun{name: "kpos"}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, f := range frames {
		c0 := threadCPU()
		text, err := dec.Decode(f.img)
		r.res = append(r.res, result{ok: err == nil && text == f.text, ms: ms(threadCPU() - c0)})
	}
	return r
}

// runGozxing decodes with gozxing's QR reader alone: its hybrid binarizer
// and detector, no hints (so ECIs and its charset guess apply).
func runGozxing(frames []frame) decoderRun {
	r := decoderRun{name: "gozxing"}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	reader := qrcode.NewQRCodeReader()
	for _, f := range frames {
		src := gozxing.NewLuminanceSourceFromImage(f.img) // conversion, not timed
		c0 := threadCPU()
		ok := false
		func() {
			defer func() { _ = recover() }() // a library panic is a miss
			bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
			if err != nil {
				return
			}
			res, err := reader.Decode(bmp, nil)
			ok = err == nil && res.GetText() == f.text
		}()
		r.res = append(r.res, result{ok: ok, ms: ms(threadCPU() - c0)})
	}
	return r
}

// harness is a reference decoder's C harness.
type harness struct {
	name    string
	bin     string
	missing string
}

// The harnesses' sources, relative to the repository root (make bench runs
// from there); cc and c++ with pkg-config's flags build them.
var harnessSources = []struct {
	name, src, compiler, pkg string
	flags                    []string
}{
	{name: "zxing-cpp", src: "tools/qrbench/refs/zxing.cpp", compiler: "c++", pkg: "zxing", flags: []string{"-std=c++17"}},
	{name: "zbar", src: "tools/qrbench/refs/zbar.c", compiler: "cc", pkg: "zbar"},
}

func buildHarnesses(dir string) []harness {
	var hs []harness
	for _, s := range harnessSources {
		h := harness{name: s.name, bin: filepath.Join(dir, s.name+"-bench")}
		pc, err := exec.Command("pkg-config", "--cflags", "--libs", s.pkg).Output()
		if err != nil {
			h.missing = fmt.Sprintf("pkg-config %s: %v (Debian lib%s-dev; scripts/deps.sh bench)", s.pkg, err, s.pkg)
			hs = append(hs, h)
			continue
		}
		args := append(append([]string{"-O2", "-o", h.bin}, s.flags...), s.src)
		args = append(args, strings.Fields(string(pc))...)
		if out, err := exec.Command(s.compiler, args...).CombinedOutput(); err != nil {
			h.missing = fmt.Sprintf("build: %v: %s", err, strings.TrimSpace(string(out)))
		}
		hs = append(hs, h)
	}
	return hs
}

func (h harness) run(file string, frames []frame) decoderRun {
	r := decoderRun{name: h.name, missing: h.missing}
	if h.missing != "" {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, h.bin, file).Output()
	if err != nil {
		r.missing = err.Error()
		return r
	}
	got, err := parseHarness(out, len(frames))
	if err != nil {
		r.missing = err.Error()
		return r
	}
	for i, g := range got {
		r.res = append(r.res, result{ok: slices.Contains(g.texts, frames[i].text), ms: g.ms})
	}
	return r
}

// harnessLine is one line of a harness's output.
type harnessLine struct {
	ms    float64
	texts []string
}

// parseHarness reads "<index> <cpu ns> <hex>[,<hex>...]|-" lines, one per
// frame in order.
func parseHarness(out []byte, n int) ([]harnessLine, error) {
	var lines []harnessLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return nil, fmt.Errorf("harness line %q", sc.Text())
		}
		i, err1 := strconv.Atoi(f[0])
		ns, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || i != len(lines) || ns < 0 {
			return nil, fmt.Errorf("harness line %q", sc.Text())
		}
		l := harnessLine{ms: float64(ns) / 1e6}
		if f[2] != "-" {
			for _, h := range strings.Split(f[2], ",") {
				b, err := hex.DecodeString(h)
				if err != nil {
					return nil, fmt.Errorf("harness line %q: %w", sc.Text(), err)
				}
				l.texts = append(l.texts, string(b))
			}
		}
		lines = append(lines, l)
	}
	if len(lines) != n {
		return nil, fmt.Errorf("harness gave %d results for %d frames", len(lines), n)
	}
	return lines, nil
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(float64(len(s)-1)*p/100 + 0.5)
	return s[k]
}

type summary struct {
	ok       int
	med, p95 float64
}

func summarize(rs []result) summary {
	var times []float64
	var s summary
	for _, r := range rs {
		times = append(times, r.ms)
		if r.ok {
			s.ok++
		}
	}
	s.med, s.p95 = percentile(times, 50), percentile(times, 95)
	return s
}

// report prints corpus c's table by variant and returns whether its goals
// hold and its bench line.
func report(out io.Writer, c corpus.Corpus, runs []decoderRun, frames []frame) (bool, string) {
	fmt.Fprintf(out, "\ncorpus %s (%d frames)\n", c.Name, len(frames))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "variant\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s ok\tmed ms\tp95 ms\t", r.name)
	}
	fmt.Fprintln(tw)
	rows := append(slices.Clone(c.Variants), "all")
	for _, v := range rows {
		fmt.Fprintf(tw, "%s\t", v)
		for _, r := range runs {
			if r.missing != "" {
				fmt.Fprint(tw, "-\t-\t-\t")
				continue
			}
			var rs []result
			for i, f := range frames {
				if v == "all" || f.variant == v {
					rs = append(rs, r.res[i])
				}
			}
			s := summarize(rs)
			fmt.Fprintf(tw, "%d/%d\t%.2f\t%.2f\t", s.ok, len(rs), s.med, s.p95)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	counts := map[string]string{}
	ok := true
	kpos := summarize(runs[0].res)
	for _, r := range runs {
		if r.missing != "" {
			fmt.Fprintf(out, "%s did not run: %s\n", r.name, r.missing)
			counts[r.name] = "-"
			continue
		}
		s := summarize(r.res)
		counts[r.name] = strconv.Itoa(s.ok)
		if r.name == "zxing-cpp" && kpos.ok < s.ok {
			ok = false
		}
	}
	if kpos.p95 > goalP95 {
		ok = false
	}
	line := fmt.Sprintf("bench: qr corpus=%s kpos=%d/%d zxing-cpp=%s zbar=%s gozxing=%s kpos-p95=%.2f",
		c.Name, kpos.ok, len(frames), orDash(counts["zxing-cpp"]), orDash(counts["zbar"]), orDash(counts["gozxing"]), kpos.p95)
	fmt.Fprintf(out, "goals: kpos >= zxing-cpp, p95 <= %.0f ms: %v\n", goalP95, ok)
	return ok, line
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatStats(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
