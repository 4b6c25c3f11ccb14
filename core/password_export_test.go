package core

import (
	"slices"
	"sync"
)

// PasswordVerifies makes a's password sign-in record the hash of every Argon2id
// verification it makes, and returns what it recorded so far: the tests see that an
// unknown user's password is verified too, against the dummy hash, without timing
// anything. Call it before the first request.
func PasswordVerifies(a *Auth) func() []string {
	var (
		mu   sync.Mutex
		seen []string
	)
	p := a.cfg.password
	verify := p.verify
	p.verify = func(phc, pw string) (bool, error) {
		mu.Lock()
		seen = append(seen, phc)
		mu.Unlock()
		return verify(phc, pw)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// PasswordSlots is how many password checks a runs at once.
func PasswordSlots(a *Auth) int { return cap(a.cfg.password.slots) }
