package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// minFilter is the fewest ids a filter is sized for.
	minFilter = 1 << 14
	// The wait before connecting the listener again after a failure, doubling up to
	// the maximum.
	minBackoff = 10 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
	// defaultConnectTimeout bounds a connection of the listener when the pool's
	// configuration sets no connect_timeout.
	defaultConnectTimeout = 10 * time.Second
	// stableAfter is how long a listener connection must have lasted for the next
	// failure to start again from minBackoff.
	stableAfter = time.Second
)

// connectListener opens the listener's own connection, with the pool's settings, on
// which every notification is applied to the filters as it is read.
func (s *Store) connectListener(ctx context.Context) (*pgconn.PgConn, error) {
	cfg := s.pool.Config().ConnConfig.Config.Copy()
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		if n.Channel == s.channel {
			s.apply(n.Payload)
		}
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		// So that an operator can tell it in pg_stat_activity: it is idle for good.
		cfg.RuntimeParams["application_name"] = "gatehouse pgstore listener"
	}
	if cfg.ConnectTimeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultConnectTimeout)
		defer cancel()
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// LISTEN has taken effect when it returns: a revocation committed from then on is
	// announced on this connection, and one committed before is in any load that
	// starts after.
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()).ReadAll(); err != nil {
		closeConn(conn)
		return nil, err
	}
	s.listenerPID.Store(conn.PID())
	return conn, nil
}

func closeConn(conn *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// start listens, loads the filters and starts the goroutines that keep them current
// and purge. The first LISTEN and load happen here, so that New fails when they do and
// the store answers from its filters from the start.
func (s *Store) start(ctx context.Context) error {
	conn, err := s.connectListener(ctx)
	if err != nil {
		return failed("New: LISTEN on "+s.channel, err)
	}
	gen := s.feed.Up()
	if err := s.reload(ctx); err != nil {
		closeConn(conn)
		return failed("New: load revocations", err)
	}
	s.feed.Loaded(gen)

	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.listen(bg, conn)
	go s.reloader(bg)
	if s.opts.purgeInterval > 0 {
		s.wg.Add(1)
		go s.purgeLoop(bg)
	}
	return nil
}

// listen reads notifications from conn until it fails, then connects and listens
// again, until ctx ends.
func (s *Store) listen(ctx context.Context, conn *pgconn.PgConn) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		since := time.Now()
		err := s.wait(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		if s.feed.Lost() {
			s.opts.logger.Warn("pgstore: revocation listener lost; IsRevoked asks the database until it is back",
				"channel", s.channel, "err", err)
		}
		if time.Since(since) > stableAfter {
			backoff = minBackoff
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			conn, err = s.connectListener(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
		}
		s.feed.Up()
		s.feed.Kick()
	}
}

// wait reads conn until it fails or ctx ends. The notifications it reads are applied
// by the connection's OnNotification. When conn has been silent for the health-check
// interval, wait pings over it; a ping unanswered within as long again means the
// connection is gone without telling (a partition).
func (s *Store) wait(ctx context.Context, conn *pgconn.PgConn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, s.opts.healthCheck)
		err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return err
		case conn.IsClosed():
			return errors.New("connection closed")
		}
		pctx, cancel := context.WithTimeout(ctx, s.opts.healthCheck)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
	}
}

// apply adds an announced revocation, "t:<hex id>" or "s:<hex id>", to its filter.
func (s *Store) apply(payload string) {
	kind, h, ok := strings.Cut(payload, ":")
	if !ok {
		return
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return
	}
	switch kind {
	case "t":
		s.tokens.Add(string(b))
	case "s":
		s.sessions.Add(string(b))
	default:
		return
	}
	if s.tokens.NeedsRebuild() || s.sessions.NeedsRebuild() {
		s.feed.Kick()
	}
}

// reloader loads the filters afresh when kicked: after a new LISTEN, so that the
// store trusts them again, and when they have filled up or emptied out.
func (s *Store) reloader(ctx context.Context) {
	defer s.wg.Done()
	s.feed.Reloader(ctx, s.reload, func() {
		s.opts.logger.Info("pgstore: revocation filters loaded; IsRevoked answers from memory again",
			"channel", s.channel)
	}, func(err error) {
		s.opts.logger.Warn("pgstore: loading the revocation filters failed", "err", err)
	})
}

// reload replaces both filters with ones loaded from the revocations table. Ids added
// while it runs, from notifications or this instance's writes, go into the new filters
// too (see revfilter.Set.Rebuild). It reads after LISTEN took effect, so every
// revocation is either in what it reads or in a notification that arrives later.
func (s *Store) reload(ctx context.Context) error {
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.countRevocations).Scan(&n); err != nil {
		return err
	}
	expected := max(2*int(n), minFilter)
	return s.tokens.Rebuild(expected, func(addToken func(string)) error {
		return s.sessions.Rebuild(expected, func(addSession func(string)) error {
			rows, err := s.pool.Query(ctx, s.q.loadRevocations)
			if err != nil {
				return err
			}
			defer rows.Close()
			var kind string
			var id []byte
			for rows.Next() {
				if err := rows.Scan(&kind, &id); err != nil {
					return err
				}
				if kind == "s" {
					addSession(string(id))
				} else {
					addToken(string(id))
				}
			}
			return rows.Err()
		})
	})
}
