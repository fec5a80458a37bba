// Command qrbench is the QR decoding benchmark: it generates a corpus of
// 640×480 frames (payment payloads encoded with qrencode, then clean,
// blurred, noisy, low-contrast, rotated and perspective variants), decodes
// every frame with the camera driver's pipeline and, in the same run, with
// zbarimg (zbar-tools) and ZXingReader (zxing-cpp-tools), and prints per
// variant the success rate and the median and 95th percentile time per frame
// of each decoder, with the ratios.
//
// Timing. Times are CPU time, so that a machine shared with other work
// gives the same figures: the camera pipeline's is the CPU time of the
// thread running Decoder.Decode on a frame in memory, as the driver
// receives it from V4L2. The reference tools read the same frames from
// binary PGM files (no compression to undo); each frame is decoded by its
// own process run, whose user+system time is taken, less the median of the
// same tool run on an 8×8 blank PGM (process start and library set-up, no
// scanning). The wall-clock medians, computed the same way, are shown
// beside them, and as a cross-check each variant is also decoded in one
// batched invocation per tool with the wall time divided by the frame count
// ("batch ms").
//
// Usage: go run ./tools/qrbench [-n frames per variant] [-seed n].
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"kpos/drivers/camera"
	"kpos/tools/qrbench/corpus"
)

func main() {
	n := flag.Int("n", 24, "frames per variant")
	seed := flag.Uint64("seed", 1, "corpus seed")
	budget := flag.Duration("budget", 100*time.Millisecond, "camera pipeline time budget per frame")
	refs := flag.Bool("refs", true, "run the reference decoders")
	keep := flag.String("keep", "", "write the corpus (PGM) to this directory and keep it")
	strict := flag.Bool("strict", false, "exit 1 when a goal is missed")
	flag.Parse()
	ok, err := run(os.Stdout, options{n: *n, seed: *seed, budget: *budget, refs: *refs, keep: *keep})
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
	refs   bool
	keep   string
}

// result is one decoder's outcome on one frame.
type result struct {
	ok   bool
	ms   float64 // CPU time
	wall float64 // wall time
}

// decoderRun is a decoder's results per variant.
type decoderRun struct {
	name    string
	missing string // why it did not run
	res     map[corpus.Variant][]result
	batch   map[corpus.Variant]float64 // batch mean ms per frame
}

func run(out io.Writer, o options) (bool, error) {
	start := time.Now()
	enc := corpus.NewEncoder()
	fmt.Fprintf(out, "QR decoding benchmark: %d frames per variant, %dx%d, seed %d, encoder %s",
		o.n, corpus.Width, corpus.Height, o.seed, enc.Name)
	if enc.Name != "qrencode" {
		fmt.Fprint(out, " (qrencode not found; install Debian package qrencode)")
	}
	fmt.Fprintln(out)

	payloads := corpus.Payloads(o.seed, o.n)
	syms := make([]corpus.Symbol, len(payloads))
	for i, p := range payloads {
		s, err := enc.Encode(p)
		if err != nil {
			return false, err
		}
		syms[i] = s
	}
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

	frames := map[corpus.Variant][]corpus.Frame{}
	files := map[corpus.Variant][]string{}
	for _, v := range corpus.Variants {
		for i := range o.n {
			f := corpus.Generate(syms[i], payloads[i], v, o.seed, i)
			frames[v] = append(frames[v], f)
			name := filepath.Join(dir, fmt.Sprintf("%s-%03d.pgm", v, i))
			if err := writePGM(name, f); err != nil {
				return false, err
			}
			files[v] = append(files[v], name)
		}
	}
	genTime := time.Since(start)

	dec := camera.NewDecoder(camera.DecoderConfig{Budget: o.budget})
	ours := decoderRun{name: "camera", res: map[corpus.Variant][]result{}}
	runtime.LockOSThread() // the thread CPU clock must see the decoding
	for _, v := range corpus.Variants {
		for _, f := range frames[v] {
			img := f.Image()
			c0, t0 := threadCPU(), time.Now()
			text, err := dec.Decode(img)
			wall := time.Since(t0)
			ours.res[v] = append(ours.res[v], result{ok: err == nil && text == f.Payload, ms: ms(threadCPU() - c0), wall: ms(wall)})
		}
	}
	runtime.UnlockOSThread()
	runs := []decoderRun{ours}
	if o.refs {
		blank := filepath.Join(dir, "blank.pgm")
		if err := os.WriteFile(blank, append([]byte("P5\n8 8\n255\n"), bytes.Repeat([]byte{200}, 64)...), 0o644); err != nil {
			return false, err
		}
		for _, t := range refTools {
			runs = append(runs, t.run(files, frames, blank))
		}
	}
	ok := report(out, runs, frames)
	fmt.Fprintf(out, "\nattempts that decoded (camera pipeline): %s\n", formatStats(dec.Stats()))
	fmt.Fprintf(out, "corpus generated in %.1fs; whole run %.1fs\n", genTime.Seconds(), time.Since(start).Seconds())
	return ok, nil
}

func writePGM(name string, f corpus.Frame) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "P5\n%d %d\n255\n", corpus.Width, corpus.Height)
	b.Write(f.Pix)
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// refTool is a reference decoder run as a command.
type refTool struct {
	name string
	bin  string
	args []string // before the file names
	// parse maps the batch output to decoded texts per file.
	parse func(out []byte) map[string][]string
}

var refTools = []refTool{
	{name: "zbarimg", bin: "zbarimg", args: []string{"--nodbus", "--xml", "-q", "-Sdisable", "-Sqrcode.enable"}, parse: parseZbarXML},
	{name: "ZXingReader", bin: "ZXingReader", args: []string{"-format", "QRCode", "-1"}, parse: parseZXing},
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// exec runs the tool on files and returns its output, its wall time and
// its CPU time (user and system, all threads).
func (t refTool) exec(files ...string) ([]byte, time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.bin, append(slices.Clone(t.args), files...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil // "nothing found" exits non-zero
	}
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return stdout.Bytes(), d, cpu, err
}

func (t refTool) run(files map[corpus.Variant][]string, frames map[corpus.Variant][]corpus.Frame, blank string) decoderRun {
	r := decoderRun{name: t.name, res: map[corpus.Variant][]result{}, batch: map[corpus.Variant]float64{}}
	if _, err := exec.LookPath(t.bin); err != nil {
		r.missing = err.Error()
		return r
	}
	var starts, startsWall []float64
	for range 7 {
		_, d, cpu, err := t.exec(blank)
		if err != nil {
			r.missing = err.Error()
			return r
		}
		starts = append(starts, ms(cpu))
		startsWall = append(startsWall, ms(d))
	}
	startup, startupWall := percentile(starts, 50), percentile(startsWall, 50)
	for _, v := range corpus.Variants {
		for i, f := range files[v] {
			out, d, cpu, err := t.exec(f)
			if err != nil {
				r.missing = err.Error()
				return r
			}
			texts := t.parse(out)[f]
			r.res[v] = append(r.res[v], result{ok: slices.Contains(texts, frames[v][i].Payload),
				ms: max(ms(cpu)-startup, 0), wall: max(ms(d)-startupWall, 0)})
		}
		_, d, _, err := t.exec(files[v]...)
		if err == nil {
			r.batch[v] = ms(d) / float64(len(files[v]))
		}
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// parseZbarXML reads zbarimg --xml output: <source href='file'> … <data><![CDATA[text]]></data>.
func parseZbarXML(out []byte) map[string][]string {
	m := map[string][]string{}
	s := string(out)
	for _, part := range strings.Split(s, "<source href='")[1:] {
		end := strings.IndexByte(part, '\'')
		if end < 0 {
			continue
		}
		file := part[:end]
		for _, d := range strings.Split(part, "<data><![CDATA[")[1:] {
			if e := strings.Index(d, "]]></data>"); e >= 0 {
				m[file] = append(m[file], d[:e])
			}
		}
	}
	return m
}

// parseZXing reads ZXingReader -1 output: one line per symbol,
// `file FORMAT "text"` (non-graphic bytes escaped, which payment payloads
// do not contain).
func parseZXing(out []byte) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		i := strings.Index(line, " QRCode \"")
		if i < 0 || len(line) < i+len(" QRCode \"")+1 || !strings.HasSuffix(line, "\"") {
			continue
		}
		file := line[:i]
		m[file] = append(m[file], line[i+len(" QRCode \""):len(line)-1])
	}
	return m
}

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
	rate, med, p95, wall float64
	n                    int
}

func summarize(rs []result) summary {
	var times, walls []float64
	okN := 0
	for _, r := range rs {
		times = append(times, r.ms)
		walls = append(walls, r.wall)
		if r.ok {
			okN++
		}
	}
	if len(rs) == 0 {
		return summary{}
	}
	return summary{rate: float64(okN) / float64(len(rs)), med: percentile(times, 50), p95: percentile(times, 95),
		wall: percentile(walls, 50), n: len(rs)}
}

// report prints the table and the goals; it returns whether all goals hold.
func report(out io.Writer, runs []decoderRun, frames map[corpus.Variant][]corpus.Frame) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\nvariant\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s ok\tmed ms\tp95 ms\twall med\t", r.name)
		if r.batch != nil {
			fmt.Fprintf(tw, "batch ms\t")
		}
	}
	fmt.Fprintln(tw, "ok vs best ref\tmed speed-up\t")
	goals := true
	var all [][]result = make([][]result, len(runs))
	rows := append(slices.Clone(corpus.Variants), "overall")
	for _, v := range rows {
		fmt.Fprintf(tw, "%s\t", v)
		var sums []summary
		for i, r := range runs {
			rs := r.res[v]
			if v == "overall" {
				rs = all[i]
			} else {
				all[i] = append(all[i], rs...)
			}
			s := summarize(rs)
			sums = append(sums, s)
			if r.missing != "" {
				fmt.Fprintf(tw, "-\t-\t-\t-\t-\t")
				continue
			}
			fmt.Fprintf(tw, "%.0f%%\t%.2f\t%.2f\t%.2f\t", 100*s.rate, s.med, s.p95, s.wall)
			if r.batch != nil {
				if v == "overall" {
					var tot float64
					for _, b := range r.batch {
						tot += b
					}
					fmt.Fprintf(tw, "%.2f\t", tot/float64(len(r.batch)))
				} else {
					fmt.Fprintf(tw, "%.2f\t", r.batch[v])
				}
			}
		}
		bestRate, bestMed := -1.0, 0.0
		for i, s := range sums[1:] {
			if runs[i+1].missing != "" {
				continue
			}
			if s.rate > bestRate {
				bestRate = s.rate
			}
			if bestMed == 0 || s.med < bestMed {
				bestMed = s.med
			}
		}
		if bestRate < 0 {
			fmt.Fprintln(tw, "-\t-\t")
			continue
		}
		ratio := "∞"
		if bestRate > 0 {
			ratio = fmt.Sprintf("%.2f", sums[0].rate/bestRate)
		}
		fmt.Fprintf(tw, "%s\t%.1fx\t\n", ratio, bestMed/max(sums[0].med, 1e-9))
		if sums[0].rate < bestRate {
			goals = false
		}
		if v == "overall" {
			for i, s := range sums[1:] {
				if runs[i+1].missing == "" && sums[0].rate <= s.rate {
					goals = false
				}
			}
		}
	}
	tw.Flush()
	ourMed := summarize(all[0]).med
	for _, r := range runs[1:] {
		if r.missing != "" {
			fmt.Fprintf(out, "%s did not run: %s\n", r.name, r.missing)
		}
	}
	fmt.Fprintf(out, "\ngoals: success rate >= better reference on every variant and > both overall: %v; camera median %.2f ms CPU < 1.5 ms: %v (wall median %.2f ms)\n",
		goals, ourMed, ourMed < 1.5, summarize(all[0]).wall)
	return goals && ourMed < 1.5
}

func formatStats(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
