package redisstore

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

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
		s.sub.Kick()
	}
}

// reloader loads the filters afresh when kicked: after a (re)subscription, so that the
// store trusts them again, and when they have filled up or emptied out.
func (s *Store) reloader(ctx context.Context) {
	defer s.wg.Done()
	s.sub.Reloader(ctx, s.reload, func() {
		s.opts.logger.Info("redisstore: revocation filters loaded; IsRevoked answers from memory again",
			"channel", s.channel)
	}, func(err error) {
		s.opts.logger.Warn("redisstore: loading the revocation filters failed", "err", err)
	})
}

// reload replaces both filters with ones loaded by SCAN of every master. Ids added
// while it runs, from messages or this instance's writes, go into the new filters too
// (see revfilter.Set.Rebuild). It reads after the subscriptions were confirmed, so
// every revocation is either in what it reads or in a message that arrives later.
func (s *Store) reload(ctx context.Context) error {
	pipe := s.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(allShards))
	for i, h := range allShards {
		cards[i] = pipe.ZCard(ctx, s.keys.revocations(h))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	n := 0
	for _, c := range cards {
		n += int(c.Val())
	}
	nodes, err := s.masters(ctx)
	if err != nil {
		return err
	}
	expected := max(2*n, minFilter)
	p := len(s.keys.prefix) + shardLen
	return s.tokens.Rebuild(expected, func(addToken func(string)) error {
		return s.sessions.Rebuild(expected, func(addSession func(string)) error {
			for _, n := range nodes {
				iter := n.client.Scan(ctx, 0, s.keys.match("{??}r[st]:*"), scanCount).Iterator()
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
				if err := iter.Err(); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
