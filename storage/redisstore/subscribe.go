package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/revfilter"
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

// subscription says whether the filters hold every revocation (its Feed: they do when
// the store is subscribed to its channel and has loaded them since it subscribed; until
// then IsRevoked asks Redis), and holds the current subscriptions, for Close.
type subscription struct {
	*revfilter.Feed

	mu     sync.Mutex
	g      *group // the current subscriptions, for close
	closed bool
}

// set makes g the subscriptions close closes; false if the store is closed.
func (sub *subscription) set(g *group) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return false
	}
	sub.g = g
	return true
}

func (sub *subscription) close() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.closed = true
	if sub.g != nil {
		sub.g.close()
	}
}

// newSubscriber returns the client of a subscription on the server c reaches (the
// store's Redis, or a master of the cluster, through the cluster client's own client
// of it): one with c's options (address, credentials, TLS, database, Sentinel or
// cluster dialer) that dials once per attempt instead of
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

// subscriptionDialed runs before every dial of a subscription's connection, the
// first included: the connection it replaces, if any, is gone, and messages on it may
// have been lost.
func (s *Store) subscriptionDialed() {
	if s.sub.Lost() {
		s.opts.logger.Warn("redisstore: revocation subscription lost; IsRevoked asks Redis until it is back",
			"channel", s.channel)
	}
}

// subscribers holds the clients of the subscriptions, one per server subscribed to
// (the Redis, or each master of a cluster), by address, each made by newSubscriber.
type subscribers struct {
	dialed  func()
	mu      sync.Mutex
	clients map[string]*redis.Client
}

func (ss *subscribers) init(dialed func()) {
	ss.dialed = dialed
	ss.clients = map[string]*redis.Client{}
}

// get returns the subscription client of the server node at addr, making it if needed.
func (ss *subscribers) get(addr string, node *redis.Client) *redis.Client {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	c, ok := ss.clients[addr]
	if !ok {
		c = newSubscriber(node, ss.dialed)
		ss.clients[addr] = c
	}
	return c
}

// keep closes the clients of servers not in addrs: masters that left the cluster.
func (ss *subscribers) keep(addrs []string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for addr, c := range ss.clients {
		if !slices.Contains(addrs, addr) {
			_ = c.Close()
			delete(ss.clients, addr)
		}
	}
}

func (ss *subscribers) closeAll() { ss.keep(nil) }

// node is a server the store subscribes on and scans: the Redis, or a master of the
// cluster.
type node struct {
	addr   string
	client *redis.Client
}

// masters returns the servers that hold the store's keys: the one Redis, or every
// master of the cluster, by address, as the cluster tells now (ForEachMaster reloads
// the cluster's state first).
func (s *Store) masters(ctx context.Context) ([]node, error) {
	if s.cluster == nil {
		c := s.rdb.(*redis.Client)
		return []node{{c.Options().Addr, c}}, nil
	}
	var (
		mu   sync.Mutex
		list []node
	)
	err := s.cluster.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		list = append(list, node{c.Options().Addr, c})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("the cluster has no masters")
	}
	slices.SortFunc(list, func(a, b node) int { return strings.Compare(a.addr, b.addr) })
	return list, nil
}

// group is the store's subscriptions to its channel: one on the Redis, or one on each
// master of a cluster. Every script publishes on the server it runs on, which delivers
// to its own subscribers whether or not it reaches the other nodes of the cluster
// (PUBLISH is broadcast over the cluster bus, but a master that fails right after a
// write may not have passed the message on): a subscription on each master is what
// makes a missed message a lost connection, which the store notices.
type group struct {
	addrs []string
	pss   []*redis.PubSub
}

func (g *group) close() {
	for _, ps := range g.pss {
		_ = ps.Close()
	}
}

// subscribeAll subscribes on every master and waits up to timeout for each
// confirmation. The caller marks the store subscribed (every message published from
// then on reaches it) and reloads the filters.
func (s *Store) subscribeAll(ctx context.Context, timeout time.Duration) (*group, error) {
	nodes, err := s.masters(ctx)
	if err != nil {
		return nil, err
	}
	g := &group{}
	for _, n := range nodes {
		ps := s.subs.get(n.addr, n.client).Subscribe(ctx, s.channel)
		g.addrs, g.pss = append(g.addrs, n.addr), append(g.pss, ps)
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if err == nil {
			if m, ok := msg.(*redis.Subscription); !ok || m.Kind != "subscribe" {
				err = fmt.Errorf("unexpected reply %v", msg)
			}
		}
		if err != nil {
			g.close()
			if s.cluster != nil {
				err = fmt.Errorf("on %s: %w", n.addr, err)
			}
			return nil, err
		}
	}
	s.subs.keep(g.addrs)
	return g, nil
}

// start subscribes, loads the filters and starts the goroutines that keep them
// current. The first subscription and load happen here, so that New fails when they
// do and the store answers from its filters from the start.
func (s *Store) start(ctx context.Context) error {
	g, err := s.subscribeAll(ctx, subscribeTimeout)
	if err != nil {
		return failed("New: subscribe to "+s.channel, err)
	}
	gen := s.sub.Up()
	if err := s.reload(ctx); err != nil {
		g.close()
		return failed("New: load revocations", err)
	}
	s.sub.Loaded(gen)
	s.sub.set(g)

	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.listen(bg, g)
	go s.reloader(bg)
	return nil
}

// listen applies the messages of the subscriptions to the filters, and subscribes
// again, on every master, whenever one of them fails, until ctx ends.
func (s *Store) listen(ctx context.Context, g *group) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		err := s.receiveAll(ctx, g)
		if ctx.Err() != nil {
			return
		}
		if s.sub.Lost() {
			s.opts.logger.Warn("redisstore: revocation subscription lost; IsRevoked asks Redis until it is back",
				"channel", s.channel, "err", err)
		}
		// New subscriptions rather than go-redis's own reconnection, so that every
		// failure is seen here and starts from fresh connections, on the masters of
		// the moment.
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			g, err = s.subscribeAll(ctx, 2*s.opts.healthCheck)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
		}
		if !s.sub.set(g) {
			g.close()
			return
		}
		backoff = minBackoff
		// What was published before the confirmations may have been missed.
		s.sub.Up()
		s.sub.Kick()
	}
}

// receiveAll reads every subscription of g until one fails, or, on a cluster, until
// the cluster's masters are no longer those g subscribed on. It closes g.
func (s *Store) receiveAll(ctx context.Context, g *group) error {
	ctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, len(g.pss)+1)
	var wg sync.WaitGroup
	for i, ps := range g.pss {
		wg.Go(func() {
			err := s.receive(ctx, ps)
			if err != nil && s.cluster != nil {
				err = fmt.Errorf("on %s: %w", g.addrs[i], err)
			}
			errs <- err
		})
	}
	if s.cluster != nil {
		wg.Go(func() { errs <- s.watchMasters(ctx, g.addrs) })
	}
	err := <-errs
	cancel()
	g.close() // ends the other receives
	wg.Wait()
	return err
}

// receive reads ps, whose subscription is confirmed, until it fails.
func (s *Store) receive(ctx context.Context, ps *redis.PubSub) error {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.opts.healthCheck)
		if err != nil {
			var nerr net.Error
			if ctx.Err() == nil && !pinged && errors.As(err, &nerr) && nerr.Timeout() {
				// Silence: ask Redis for a pong. Silence again means the
				// connection is gone without telling (a partition).
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			// A confirmation go-redis got by reconnecting by itself: what was
			// published before it may have been missed. Start afresh.
			return fmt.Errorf("unexpected %s of %q", m.Kind, m.Channel)
		case *redis.Message:
			s.apply(m.Payload)
		}
	}
}

// watchMasters asks the cluster for its masters every health check interval, and
// returns when they are no longer addrs: a master the store is not subscribed on
// would publish to no one of this store when the cluster bus fails it.
func (s *Store) watchMasters(ctx context.Context, addrs []string) error {
	t := time.NewTicker(s.opts.healthCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		nodes, err := s.masters(ctx)
		if err != nil {
			continue // a failing master fails its subscription too
		}
		now := make([]string, len(nodes))
		for i, n := range nodes {
			now[i] = n.addr
		}
		if !slices.Equal(now, addrs) {
			return fmt.Errorf("the cluster's masters changed from %v to %v", addrs, now)
		}
	}
}
