package core

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultRateLimit is how many requests a minute one client IP may make to the sign-in,
// callback, refresh and password routes unless WithRateLimit says otherwise: enough for
// a thousand users behind one address refreshing every quarter of an hour, far below
// what it takes to fill a store or flood a provider.
const DefaultRateLimit = 120

// maxLimited bounds the addresses the limiter remembers; past it, addresses whose
// budget is full again are forgotten first (they would start full anyway).
const maxLimited = 100_000

// WithRateLimit sets how many requests a minute one client IP may make to the sign-in,
// callback, refresh and password routes, as a token bucket that refills evenly and
// holds a minute's worth (default DefaultRateLimit). Beyond it the answer is 429 with
// Retry-After. The client IP is the adapter's Exchange.RemoteIP: the framework's own
// address, or what its trusted-proxy setting makes of X-Forwarded-For, never the raw
// header; configure the framework's trusted proxies, or every client behind a proxy
// shares one budget. The limit is per process: several instances each allow it.
func WithRateLimit(perMinute int) Option {
	return func(c *config) error {
		if perMinute < 1 {
			return fmt.Errorf("%w: rate limit %d per minute: want 1 or more (WithoutRateLimit turns it off)", ErrConfig, perMinute)
		}
		c.web.rateLimit = perMinute
		return nil
	}
}

// WithoutRateLimit turns the per-IP rate limit of the sign-in, callback, refresh and
// password routes off, for apps that limit in front of gatehouse.
func WithoutRateLimit() Option {
	return func(c *config) error {
		c.web.rateLimit = -1
		return nil
	}
}

// retryError is a refusal that tells the client when to come back.
type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryAfter is the Retry-After of err in whole seconds, at least 1, and 0 when err
// says nothing about it.
func retryAfter(err error) int {
	var r *retryError
	if !errors.As(err, &r) {
		return 0
	}
	return max(1, int(math.Ceil(r.after.Seconds())))
}

// limiter is a token bucket per client IP.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{rate: float64(perMinute) / 60, burst: float64(perMinute), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token of ip's bucket, or says how long until one is there.
func (l *limiter) allow(ip string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= maxLimited {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// forgetFull drops the buckets that have refilled by now; if too few have, an arbitrary
// half, so the map stays bounded under a flood of new addresses.
func (l *limiter) forgetFull(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) < maxLimited {
		return
	}
	n := 0
	for ip := range l.buckets {
		delete(l.buckets, ip)
		if n++; n >= maxLimited/2 {
			return
		}
	}
}

// limited wraps the handler of a route that the rate limit covers.
func (a *Auth) limited(h func(Exchange)) func(Exchange) {
	l := a.cfg.web.limiter
	if l == nil {
		return h
	}
	return func(ex Exchange) {
		if ok, wait := l.allow(ex.RemoteIP()); !ok {
			if a.cfg.events != nil {
				a.notify(ex.Context(), Event{Type: EventRateLimited, Err: ErrRateLimited, Time: a.cfg.now()})
			}
			a.writeError(ex, &retryError{err: ErrRateLimited, after: wait})
			return
		}
		h(ex)
	}
}
