package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// minFilter is the fewest ids a filter is sized for.
	minFilter = 1 << 14
	// scanCount is the COUNT hint of the SCANs that load the filters and export.
	scanCount = 1000
	// subscribeTimeout bounds New's wait for the subscription's confirmation.
	subscribeTimeout = 10 * time.Second
	// The wait before subscribing again after a failure, doubling up to the maximum.
	minBackoff = 10 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// subscription says whether the filters hold every revocation: they do when the
// store is subscribed to its channel and has loaded them since it subscribed. Until
// then IsRevoked asks Redis.
type subscription struct {
	// state is gen<<2 | subscribed<<1 | loaded. Every loss and every (re)subscription
	// starts a new generation, so that a load that began before one cannot mark the
	// filters loaded after it.
	state atomic.Uint64
	kick  chan struct{} // wakes the reloader; one pending kick is enough

	mu     sync.Mutex
	ps     *redis.PubSub // the current subscription, for close
	closed bool
}

const (
	stateLoaded     = 1
	stateSubscribed = 2
)

func (sub *subscription) init() { sub.kick = make(chan struct{}, 1) }

// trusted reports whether the filters hold every revocation.
func (sub *subscription) trusted() bool {
	return sub.state.Load()&(stateSubscribed|stateLoaded) == stateSubscribed|stateLoaded
}

// next moves to a new generation with the given flags and returns the old state and
// the new one.
func (sub *subscription) next(flags uint64) (old, cur uint64) {
	for {
		old = sub.state.Load()
		cur = (old>>2+1)<<2 | flags
		if sub.state.CompareAndSwap(old, cur) {
			return old, cur
		}
	}
}

// lost records that the subscription failed: messages may be missed from now on. It
// reports whether the filters were trusted until then.
func (sub *subscription) lost() bool {
	old, _ := sub.next(0)
	return old&stateLoaded != 0
}

// subscribed records a confirmed subscription. Messages published before it may have
// been missed, so the filters need a load.
func (sub *subscription) subscribed() uint64 {
	_, cur := sub.next(stateSubscribed)
	return cur
}

// loaded records that a load which started in state st has finished. It marks the
// filters trusted if the subscription confirmed in st is still the current one, and
// reports whether it did.
func (sub *subscription) loaded(st uint64) bool {
	return st&(stateSubscribed|stateLoaded) == stateSubscribed && sub.state.CompareAndSwap(st, st|stateLoaded)
}

// set makes ps the subscription close closes; false if the store is closed.
func (sub *subscription) set(ps *redis.PubSub) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return false
	}
	sub.ps = ps
	return true
}

func (sub *subscription) close() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.closed = true
	if sub.ps != nil {
		_ = sub.ps.Close()
	}
}

func (sub *subscription) kickReload() {
	select {
	case sub.kick <- struct{}{}:
	default:
	}
}

// newSubscriber returns the client of the subscription: one with c's options (address,
// credentials, TLS, database, Sentinel dialer) that dials once per attempt instead of
// go-redis's five, and that calls dialed before each dial. go-redis reconnects a
// PubSub by itself, inside the call that met the failure and before reporting it;
// the hook is how the store hears of a lost connection the moment go-redis does.
func newSubscriber(c *redis.Client, dialed func()) *redis.Client {
	o := *c.Options()
	if o.MaintNotificationsConfig != nil {
		m := *o.MaintNotificationsConfig
		o.MaintNotificationsConfig = &m
	}
	o.PushNotificationProcessor = nil // c's own; NewClient makes a fresh one
	o.DialerRetries = 1
	o.MinIdleConns = 0
	sub := redis.NewClient(&o)
	sub.AddHook(dialHook(dialed))
	return sub
}

// dialHook calls itself before every dial of the client it is added to.
type dialHook func()

func (h dialHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h()
		return next(ctx, network, addr)
	}
}
func (h dialHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h dialHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// subscriptionDialed runs before every dial of the subscription's connection, the
// first included: the connection it replaces, if any, is gone, and messages on it may
// have been lost.
func (s *Store) subscriptionDialed() {
	if s.sub.lost() {
		s.opts.logger.Warn("redisstore: revocation subscription lost; IsRevoked asks Redis until it is back",
			"channel", s.channel)
	}
}

// start subscribes, loads the filters and starts the goroutines that keep them
// current. The first subscription and load happen here, so that New fails when they
// do and the store answers from its filters from the start.
func (s *Store) start(ctx context.Context) error {
	ps := s.subc.Subscribe(ctx, s.channel)
	msg, err := ps.ReceiveTimeout(ctx, subscribeTimeout)
	if err == nil {
		if m, ok := msg.(*redis.Subscription); !ok || m.Kind != "subscribe" {
			err = fmt.Errorf("unexpected reply %v", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return failed("New: subscribe to "+s.channel, err)
	}
	st := s.sub.subscribed()
	if err := s.reload(ctx); err != nil {
		_ = ps.Close()
		return failed("New: load revocations", err)
	}
	s.sub.loaded(st)
	s.sub.set(ps)

	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.listen(bg, ps)
	go s.reloader(bg)
	return nil
}

// listen applies the messages of the subscription to the filters, and subscribes again
// whenever the subscription fails, until ctx ends.
func (s *Store) listen(ctx context.Context, ps *redis.PubSub) {
	defer s.wg.Done()
	backoff := minBackoff
	confirmed := true // start consumed the first confirmation
	for {
		ok, err := s.receive(ctx, ps, confirmed)
		if ctx.Err() != nil {
			_ = ps.Close()
			return
		}
		if s.sub.lost() {
			s.opts.logger.Warn("redisstore: revocation subscription lost; IsRevoked asks Redis until it is back",
				"channel", s.channel, "err", err)
		}
		_ = ps.Close()
		if ok {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
		// A new PubSub rather than go-redis's own reconnection, so that every failure
		// is seen here and starts from a fresh connection.
		ps = s.subc.Subscribe(ctx, s.channel)
		if !s.sub.set(ps) {
			_ = ps.Close()
			return
		}
		confirmed = false
	}
}

// receive reads ps until it fails, and reports whether a subscription was confirmed
// on it. confirmed says the first confirmation was read already.
func (s *Store) receive(ctx context.Context, ps *redis.PubSub, confirmed bool) (bool, error) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.opts.healthCheck)
		if err != nil {
			var nerr net.Error
			if ctx.Err() == nil && confirmed && !pinged && errors.As(err, &nerr) && nerr.Timeout() {
				// Silence: ask Redis for a pong. Silence again means the
				// connection is gone without telling (a partition).
				if err := ps.Ping(ctx); err != nil {
					return confirmed, err
				}
				pinged = true
				continue
			}
			return confirmed, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.channel {
				return confirmed, fmt.Errorf("unexpected %s of %q", m.Kind, m.Channel)
			}
			// The first confirmation on this PubSub, or one go-redis got by
			// reconnecting by itself: either way, what was published before it may
			// have been missed.
			confirmed = true
			s.sub.subscribed()
			s.sub.kickReload()
		case *redis.Message:
			s.apply(m.Payload)
		}
	}
}

// apply adds a published revocation, "t:<jti>" or "s:<sid>", to its filter.
func (s *Store) apply(member string) {
	switch {
	case strings.HasPrefix(member, "t:"):
		s.tokens.Add(member[2:])
	case strings.HasPrefix(member, "s:"):
		s.sessions.Add(member[2:])
	default:
		return
	}
	if s.tokens.NeedsRebuild() || s.sessions.NeedsRebuild() {
		s.sub.kickReload()
	}
}

// reloader loads the filters afresh when kicked: after a (re)subscription, so that the
// store trusts them again, and when they have filled up or emptied out.
func (s *Store) reloader(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.sub.kick:
		}
		backoff := minBackoff
		for {
			st := s.sub.state.Load()
			if st&stateSubscribed == 0 {
				break // not subscribed: the next confirmation kicks again
			}
			err := s.reload(ctx)
			if err == nil {
				if s.sub.loaded(st) {
					s.opts.logger.Info("redisstore: revocation filters loaded; IsRevoked answers from memory again",
						"channel", s.channel)
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.opts.logger.Warn("redisstore: loading the revocation filters failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// reload replaces both filters with ones loaded by SCAN. Ids added while it runs, from
// messages or this instance's writes, go into the new filters too (see
// revfilter.Set.Rebuild). It reads after the subscription was confirmed, so every
// revocation is either in what it reads or in a message that arrives later.
func (s *Store) reload(ctx context.Context) error {
	n, err := s.rdb.ZCard(ctx, s.keys.revocations()).Result()
	if err != nil {
		return err
	}
	expected := max(2*int(n), minFilter)
	p := len(s.keys.prefix)
	return s.tokens.Rebuild(expected, func(addToken func(string)) error {
		return s.sessions.Rebuild(expected, func(addSession func(string)) error {
			iter := s.rdb.Scan(ctx, 0, s.keys.match("r[st]:*"), scanCount).Iterator()
			for iter.Next(ctx) {
				k := iter.Val()
				if len(k) < p+3 {
					continue
				}
				switch k[p : p+3] {
				case "rt:":
					addToken(k[p+3:])
				case "rs:":
					addSession(k[p+3:])
				}
			}
			return iter.Err()
		})
	})
}
