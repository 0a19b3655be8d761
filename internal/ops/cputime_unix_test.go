//go:build unix

package ops

import "syscall"

// cpuSeconds returns the user+system CPU time of the process so far, so benchmarks can
// report CPU time per operation, which other load on the machine disturbs less than wall
// time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
