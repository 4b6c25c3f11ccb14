package revfilter

import (
	"context"
	"sync/atomic"
	"time"
)

// The wait before a failed load is tried again, doubling from the least to the most.
const (
	feedMinBackoff = 10 * time.Millisecond
	feedMaxBackoff = 500 * time.Millisecond
)

// Feed says whether the filters of a store that shares its backend with other
// processes hold every revocation, when the store hears of the others' revocations
// over a feed of its own (a Redis subscription, a PostgreSQL LISTEN): they do once the
// feed is up and the filters have been loaded since it came up. Until then the store
// must ask its backend. It is safe for concurrent use; make one with NewFeed.
//
// Every Up and every Lost starts a new generation, so that a load that began before
// one of them can never mark the filters loaded after it: a revocation sent while the
// feed was down is in no message the store will read, only in a load that starts once
// the feed is up again.
type Feed struct {
	state atomic.Uint64 // generation<<2 | up<<1 | loaded
	kick  chan struct{} // wakes Reloader; one pending kick is enough
}

const (
	feedLoaded = 1
	feedUp     = 2
)

// NewFeed returns a Feed that is down.
func NewFeed() *Feed { return &Feed{kick: make(chan struct{}, 1)} }

// Trusted reports whether the filters hold every revocation: the feed is up and they
// have been loaded since it came up.
func (f *Feed) Trusted() bool {
	return f.state.Load()&(feedUp|feedLoaded) == feedUp|feedLoaded
}

// next moves to a new generation with the given flags and returns the old state and
// the new one.
func (f *Feed) next(flags uint64) (old, cur uint64) {
	for {
		old = f.state.Load()
		cur = (old>>2+1)<<2 | flags
		if f.state.CompareAndSwap(old, cur) {
			return old, cur
		}
	}
}

// Up records that the feed is up (the subscription confirmed, LISTEN in effect): what
// was sent before may have been missed, so the filters need a load, which the caller
// starts, by Kick or by loading and calling Loaded. It returns the new generation, for
// Loaded.
func (f *Feed) Up() uint64 {
	_, cur := f.next(feedUp)
	return cur
}

// Lost records that the feed is down: messages may be missed from now on. It reports
// whether the filters were trusted until then.
func (f *Feed) Lost() bool {
	old, _ := f.next(0)
	return old&feedLoaded != 0
}

// Loaded records that a load which began in generation gen (from Up, or the state
// Reloader read) has finished. It marks the filters trusted if the feed came up in gen
// and has not been lost or come up again since, and reports whether it did.
func (f *Feed) Loaded(gen uint64) bool {
	return gen&(feedUp|feedLoaded) == feedUp && f.state.CompareAndSwap(gen, gen|feedLoaded)
}

// Generation counts the feed's ups and losses, for tests.
func (f *Feed) Generation() uint64 { return f.state.Load() >> 2 }

// Kick asks Reloader for a load: after Up, or when the filters need a rebuild.
func (f *Feed) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Reloader runs until ctx ends, calling load each time it is kicked while the feed is
// up. A load that fails is tried again after a wait, doubling from 10 ms to 500 ms,
// for as long as the feed stays up (once it is down, the next Up kicks again), and
// failed, if not nil, is told of each error. A load that succeeds marks the filters
// trusted if the feed is still in the generation the load began in (see Loaded), and
// then calls loaded, if not nil.
func (f *Feed) Reloader(ctx context.Context, load func(context.Context) error, loaded func(), failed func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
		}
		backoff := feedMinBackoff
		for {
			gen := f.state.Load()
			if gen&feedUp == 0 {
				break
			}
			err := load(ctx)
			if err == nil {
				if f.Loaded(gen) && loaded != nil {
					loaded()
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			if failed != nil {
				failed(err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, feedMaxBackoff)
		}
	}
}
