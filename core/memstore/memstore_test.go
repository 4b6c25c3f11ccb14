package memstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return memstore.New() })
}

func TestNestedClaimsAreCopied(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
	in := &core.Session{
		ID: "sid-1",
		Identity: core.Identity{Subject: "alice", Claims: map[string]any{
			"groups": []any{"admin", map[string]any{"org": "acme"}},
			"roles":  []string{"reader"},
			"meta":   map[string]string{"k": "v"},
		}},
		ExpiresAt:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IdleExpiresAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := s.CreateSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Identity.Claims["groups"].([]any)[1].(map[string]any)["org"] = "evil"
	in.Identity.Claims["roles"].([]string)[0] = "owner"
	out, err := s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	out.Identity.Claims["meta"].(map[string]string)["k"] = "changed"
	got, err := s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"groups": []any{"admin", map[string]any{"org": "acme"}},
		"roles":  []string{"reader"},
		"meta":   map[string]string{"k": "v"},
	}
	if !reflect.DeepEqual(got.Identity.Claims, want) {
		t.Errorf("Claims = %#v, want %#v", got.Identity.Claims, want)
	}
}
