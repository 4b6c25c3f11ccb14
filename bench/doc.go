// Package bench holds gatehouse's benchmarks against the libraries users would pick
// instead: testing.B benchmarks in this package, the bench command (cmd/bench, which
// `make bench` runs) that prints one table of ratios from one run, and the loopback
// load generator (cmd/load). It has no API; see README.md for what is measured, how,
// and the latest figures.
package bench
