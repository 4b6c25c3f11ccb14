package measure

import "golang.org/x/sys/unix"

// ThreadCPU is the CPU time the calling thread has used, in nanoseconds; 0 where it
// cannot be read.
func ThreadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
