package camera

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// budgetClock measures the time a frame's decoding has used: the CPU time
// of the OS thread the decoding is locked to, so that a busy machine (other
// processes, the garbage collector's other threads) does not change which
// attempts run; on an idle terminal it equals wall time. Where the thread
// clock is unavailable it falls back to wall time.
type budgetClock struct {
	start time.Duration
	wall  time.Time
	cpu   bool
}

// startClock locks the goroutine to its thread; stop must be called.
func startClock() budgetClock {
	runtime.LockOSThread()
	if t, ok := threadCPU(); ok {
		return budgetClock{start: t, cpu: true}
	}
	return budgetClock{wall: time.Now()}
}

func (c budgetClock) elapsed() time.Duration {
	if c.cpu {
		if t, ok := threadCPU(); ok {
			return t - c.start
		}
	}
	return time.Since(c.wall)
}

func (c budgetClock) stop() { runtime.UnlockOSThread() }

func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
