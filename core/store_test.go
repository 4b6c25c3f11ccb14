package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// TestEntryValidate: the entries every store's Import refuses, and the odd ones it
// takes.
func TestEntryValidate(t *testing.T) {
	exp := time.Date(2030, time.May, 6, 7, 8, 9, 0, time.UTC)
	sess := func(id, subject string) *core.Session {
		return &core.Session{ID: id, Identity: core.Identity{Subject: subject}}
	}
	cases := []struct {
		name  string
		e     core.Entry
		valid bool
	}{
		{"key", core.Entry{Kind: core.EntryKey, ID: "signing", Value: []byte("v")}, true},
		{"key without a value", core.Entry{Kind: core.EntryKey, ID: "signing"}, true},
		{"revoked token", core.Entry{Kind: core.EntryRevokedToken, ID: "jti-1", Expires: exp}, true},
		{"revoked session", core.Entry{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: exp}, true},
		{"revoked token of an empty id, which stores skip", core.Entry{Kind: core.EntryRevokedToken}, true},
		{"revoked session of an empty id, which stores skip", core.Entry{Kind: core.EntryRevokedSession}, true},
		{"session", core.Entry{Kind: core.EntrySession, ID: "sid-1", Session: sess("sid-1", "alice")}, true},

		{"unknown kind", core.Entry{Kind: 9, ID: "x"}, false},
		{"zero kind", core.Entry{ID: "x"}, false},
		{"empty key name", core.Entry{Kind: core.EntryKey, Value: []byte("v")}, false},
		{"session entry without its session", core.Entry{Kind: core.EntrySession, ID: "sid-2"}, false},
		{"session entry of another id", core.Entry{Kind: core.EntrySession, ID: "sid-2", Session: sess("sid-3", "a")}, false},
		{"session without a subject", core.Entry{Kind: core.EntrySession, ID: "sid-2", Session: sess("sid-2", "")}, false},
		{"session with an empty id", core.Entry{Kind: core.EntrySession, Session: sess("", "a")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate()
			switch {
			case tc.valid && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case !tc.valid && !errors.Is(err, core.ErrInvalidRequest):
				t.Errorf("Validate() = %v, want an error matching %v", err, core.ErrInvalidRequest)
			}
		})
	}
}
