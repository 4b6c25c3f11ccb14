//go:build !race

package boltstore

// raceEnabled is true under -race, which makes bbolt about 20 times slower.
const raceEnabled = false
