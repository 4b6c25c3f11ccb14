package e2e

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
)

// TestSharedCluster: the two-instance contract on a Redis Cluster of three masters
// (GATEHOUSE_STORE=redis+cluster://…): A on Gin and B on Fiber agree on the key, a
// logout on one is enforced on the other, and a refresh race has exactly one winner.
func TestSharedCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	a, b := startPairOn(t, "redis+cluster://"+strings.Join(cl.Addrs(), ","))
	t.Run("Logout", func(t *testing.T) { sharedLogout(t, a, b) })
	t.Run("RefreshRace", func(t *testing.T) { sharedRefreshRace(t, a, b) })
}
