package storeurl

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// clusterForm is how a Redis Cluster URL is written, for errors.
const clusterForm = "want redis+cluster://[user:password@]host:port[,host:port…][?option=value…], " +
	"such as redis+cluster://10.0.0.1:6379,10.0.0.2:6379"

func parseRedisCluster(loc Location) (Location, error) {
	loc.Kind = Redis
	o, addrs, _, err := clusterOptions(loc.raw)
	if err != nil {
		return loc, fmt.Errorf("%w: storeurl: %s is not a Redis Cluster URL: %s; %s", core.ErrConfig, redact(loc.raw), err, clusterForm)
	}
	loc.Cluster, loc.Addrs, loc.Addr, loc.TLS = true, addrs, addrs[0], o.TLSConfig != nil
	return loc, nil
}

// clusterOptions reads a redis+cluster:// or rediss+cluster:// URL: the addresses it
// lists, which go-redis's client starts from to find every node, and its query, read
// by redis.ParseClusterURL (dial_timeout, max_retries, max_redirects, pool_size …).
// Its errors never show the password.
func clusterOptions(raw string) (*redis.ClusterOptions, []string, url.Values, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	if hosts == "" {
		return nil, nil, nil, fmt.Errorf("it names no host")
	}
	addrs := strings.Split(hosts, ",")
	for _, a := range addrs {
		if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
			return nil, nil, nil, fmt.Errorf("%q is not a host:port", a)
		}
	}
	path, query, _ := strings.Cut(tail, "?")
	if strings.Contains(query, "#") || strings.Contains(path, "#") {
		return nil, nil, nil, fmt.Errorf("it has a fragment")
	}
	if path != "" && path != "/" {
		return nil, nil, nil, fmt.Errorf("a Redis Cluster has one database, 0: drop %s", path)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bad query: %v", err)
	}
	// go-redis's own form: the first address in the URL, the others as addr parameters.
	gq := url.Values{}
	for k, v := range q {
		gq[k] = v
	}
	for _, a := range addrs[1:] {
		gq.Add("addr", a)
	}
	u, err := url.Parse(strings.TrimSuffix(scheme, "+cluster") + "://" + userinfo + addrs[0] + "/?" + gq.Encode())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("unreadable user or password")
	}
	o, err := redis.ParseClusterURL(u.String())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	return o, addrs, q, nil
}

func openRedisCluster(ctx context.Context, loc Location, o options) (core.Store, error) {
	co, _, q, err := clusterOptions(loc.raw) // Parse checked it
	if err != nil {
		return nil, fmt.Errorf("%w: storeurl: %s: %s", core.ErrConfig, loc, err)
	}
	co.DialerRetries = 1
	if !q.Has("max_retries") {
		co.MaxRetries = 1
	}
	if !q.Has("dial_timeout") {
		co.DialTimeout = DefaultDialTimeout
	}
	for _, fn := range o.redisCluster {
		fn(co)
	}
	client := redis.NewClusterClient(co)
	rs := o.redis
	if o.logger != nil {
		rs = append([]redisstore.Option{redisstore.WithLogger(o.logger)}, rs...)
	}
	s, err := redisstore.New(ctx, client, rs...)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("storeurl: %s: %w", loc, err)
	}
	return &redisStore{Store: s, client: client}, nil
}
