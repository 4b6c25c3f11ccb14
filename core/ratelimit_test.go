package core

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(60, func() time.Time { return now }) // one a second, a minute's burst
	for i := range 60 {
		if ok, _ := l.allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("192.0.2.1")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("61st request: allowed %v, wait %v; want refused, wait ≤ 1s", ok, wait)
	}
	if ok, _ := l.allow("192.0.2.2"); !ok {
		t.Fatal("another address shares the budget")
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Fatal("a second later the bucket has not refilled by one")
	}
	if ok, _ := l.allow("192.0.2.1"); ok {
		t.Fatal("the refill gave more than one token a second")
	}
	// An earlier clock never adds tokens.
	now = now.Add(-time.Hour)
	if ok, _ := l.allow("192.0.2.1"); ok {
		t.Fatal("a clock going back refilled the bucket")
	}
}

func TestLimiterBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(10, func() time.Time { return now })
	for i := range maxLimited + 10 {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := len(l.buckets); n > maxLimited {
		t.Fatalf("%d addresses remembered, want at most %d", n, maxLimited)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{0, 1}, {time.Millisecond, 1}, {1500 * time.Millisecond, 2}, {30 * time.Second, 30}} {
		err := fmt.Errorf("wrapped: %w", &retryError{err: ErrRateLimited, after: tc.after})
		r := ErrorResponse(err)
		if r.Status != 429 || r.RetryAfter != tc.want || r.Code != "too_many_requests" {
			t.Errorf("after %v: %+v, want 429 too_many_requests Retry-After %d", tc.after, r, tc.want)
		}
	}
	if r := ErrorResponse(ErrInvalidGrant); r.RetryAfter != 0 {
		t.Errorf("Retry-After %d on a 400", r.RetryAfter)
	}
}
