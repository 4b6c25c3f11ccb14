//go:build race

package main_test

// raceEnabled builds the command under test with -race when its tests run with it.
const raceEnabled = true
