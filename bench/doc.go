// Package bench holds gatehouse's benchmarks against the libraries users would pick
// instead. It has no API; run it with `make bench` and compare ratios within one run.
package bench
