package revfilter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/revfilter"
)

// TestFeedGenerations: the filters are trusted only when the feed is up and a load
// that began in the current generation has finished; a load that began before a loss
// or a new Up never makes them trusted.
func TestFeedGenerations(t *testing.T) {
	f := revfilter.NewFeed()
	if f.Trusted() {
		t.Fatal("a new feed, down, is trusted")
	}
	gen := f.Up()
	if f.Trusted() {
		t.Fatal("trusted once up, before any load")
	}
	if !f.Loaded(gen) || !f.Trusted() {
		t.Fatal("a load of the current generation did not make the filters trusted")
	}
	if f.Loaded(gen) {
		t.Error("Loaded twice for one generation reported true again")
	}
	if !f.Lost() {
		t.Error("Lost of a trusted feed reported false")
	}
	if f.Trusted() {
		t.Fatal("trusted after Lost")
	}
	if f.Lost() {
		t.Error("Lost of a feed already down reported true")
	}
	if f.Loaded(gen) || f.Trusted() {
		t.Fatal("a load that began before the loss made the filters trusted")
	}

	stale := f.Up()
	f.Lost()
	cur := f.Up() // down and up again while the load of stale ran
	if f.Loaded(stale) || f.Trusted() {
		t.Fatal("a load that began before the feed came up again made the filters trusted")
	}
	if !f.Loaded(cur) || !f.Trusted() {
		t.Fatal("a load of the current generation did not make the filters trusted")
	}
	if g := f.Generation(); g != 6 {
		t.Errorf("Generation = %d after three Ups and three Losts, want 6", g)
	}
}

// TestFeedReloader: a kick while the feed is up loads and trusts; a failing load is
// tried again until it succeeds; a kick while the feed is down loads nothing.
func TestFeedReloader(t *testing.T) {
	f := revfilter.NewFeed()
	var loads, failures, loadedCalls atomic.Int32
	var fail atomic.Int32 // how many loads fail before one succeeds
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Reloader(ctx, func(context.Context) error {
			loads.Add(1)
			if fail.Add(-1) >= 0 {
				return errors.New("backend unavailable")
			}
			return nil
		}, func() { loadedCalls.Add(1) }, func(error) { failures.Add(1) })
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s (loads %d, failures %d, loaded %d)", what, loads.Load(), failures.Load(), loadedCalls.Load())
			}
		}
	}

	f.Kick() // down: nothing to load
	time.Sleep(50 * time.Millisecond)
	if n := loads.Load(); n != 0 {
		t.Fatalf("%d loads while the feed was down", n)
	}

	f.Up()
	f.Kick()
	waitFor("loaded after Up and Kick", func() bool { return loadedCalls.Load() == 1 })
	if !f.Trusted() || loads.Load() != 1 {
		t.Errorf("trusted %v after %d loads; want true after 1", f.Trusted(), loads.Load())
	}

	f.Lost()
	fail.Store(2)
	f.Up()
	f.Kick()
	waitFor("loaded after two failed loads", func() bool { return loadedCalls.Load() == 2 })
	if !f.Trusted() || loads.Load() != 4 || failures.Load() != 2 {
		t.Errorf("trusted %v, loads %d, failures %d; want true, 4 and 2", f.Trusted(), loads.Load(), failures.Load())
	}

	// A load kicked while trusted (the filters need a rebuild) keeps them trusted.
	f.Kick()
	waitFor("the rebuild's load", func() bool { return loads.Load() == 5 })
	if !f.Trusted() {
		t.Error("not trusted after a rebuild's load")
	}
}
