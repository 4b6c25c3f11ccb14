package pgstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
)

// A network partition that closes nothing: the instance learns of it when its ping
// goes unanswered, stops trusting its filters, fails while the partition lasts (within
// the caller's deadline: a query waits as long as its context lets it), and recovers
// after it, having missed nothing.
func TestSilentPartition(t *testing.T) {
	p := storetest.NewBlackhole(t, hostPort(t, shared(t)))
	const check = 50 * time.Millisecond
	viaProxy := strings.Replace(shared(t), hostPort(t, shared(t)), p.Addr(), 1)
	if strings.Contains(viaProxy, "?") {
		viaProxy += "&connect_timeout=1"
	} else {
		viaProxy += "?connect_timeout=1"
	}
	schema := pgstore.WithSchema(uniqueSchema(t, shared(t)))
	storetest.RunSilentPartition(t, storetest.PartitionOptions{
		S:           newStore(t, newPool(t, viaProxy), schema, pgstore.WithHealthCheck(check)),
		Other:       newStore(t, newPool(t, shared(t)), schema), // an instance on the right side
		Trusted:     trusted,
		Cut:         p.Pause,
		Heal:        p.Resume,
		HealthCheck: check,
		CallTimeout: 300 * time.Millisecond,
	})
}

// hostPort returns the host:port of a postgres:// URL.
func hostPort(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "postgres://")
	if !ok {
		t.Skip("not a postgres:// URL: " + url)
	}
	if _, after, ok := strings.Cut(rest, "@"); ok {
		rest = after
	}
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}
