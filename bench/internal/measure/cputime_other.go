//go:build !linux

package measure

// ThreadCPU is 0 where the thread's CPU time is not read.
func ThreadCPU() int64 { return 0 }
