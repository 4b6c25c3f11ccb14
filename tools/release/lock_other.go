//go:build !unix

package main

// lock does nothing where flock(2) is missing: run one release check at a time there.
func lock(path string) (unlock func(), err error) { return func() {}, nil }
