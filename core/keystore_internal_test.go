package core

import (
	"testing"
	"time"
)

// TestStateKeyRotation: the key of the state cookies rotates with the signing key; a
// state sealed just before a period ends still opens in the next one, not later.
func TestStateKeyRotation(t *testing.T) {
	const every = 24 * time.Hour
	now := time.Unix(0, 0).Add(20_000*every + every - time.Minute)
	a := newWebAuth(t, WithKeyRotation(every), WithClock(func() time.Time { return now }))
	// An expiry far ahead, so that only the key can stop it from opening.
	st := &loginState{ID: "s", Provider: "idp", Verifier: string(make([]byte, 43)), RedirectTo: "/", RedirectURI: "https://app.example/cb",
		Expires: now.Add(10 * every).Unix()}
	sealed, err := sealState(a.keys(now).states[0], st)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute) // the next period
	before := a.keys(now).states[0]
	if _, err := openState(a.keys(now).states, sealed, now); err != nil {
		t.Fatalf("a state of the previous period does not open: %v", err)
	}
	if again, _ := sealState(before, st); again == sealed {
		t.Fatal("sealing is not randomized")
	}
	now = now.Add(every) // two periods on: the old key is gone
	if _, err := openState(a.keys(now).states, sealed, now); err == nil {
		t.Fatal("a state sealed two periods ago still opens")
	}
	if a.keys(now).states[0] == before {
		t.Fatal("the state key did not rotate")
	}
}
