package boltstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// sessionRecord is a session as the file stores it, in JSON. It is this package's own
// type, with its own JSON names, so that the file format changes only when this type
// does: renaming a field of core.Session, or changing its tags, changes nothing on disk.
// A field added to core.Session must be added here and in the two conversions below,
// or it is not stored (TestSessionRecordCarriesEverything fails until it is).
//
// V is the record's version: sessionVersion in every record this code writes. Version
// 1 records, written before the record had a type of its own, are the JSON of
// core.Session at v0.1.0 and have no "v"; version 2 kept every name they use, so they
// decode as they are (V 0) and become version 2 when the session is written again
// (testdata/format-v1.bolt is a file of them). The version is a field rather than a
// prefix byte so that a record stays plain JSON, readable with any bbolt tool. A
// record of a version this code does not know, written by a newer gatehouse, is
// refused as ErrCorrupt rather than misread.
type sessionRecord struct {
	V        int            `json:"v"`
	ID       string         `json:"id"`
	Identity identityRecord `json:"identity"`

	CreatedAt       time.Time `json:"created_at"`
	LastUsedAt      time.Time `json:"last_used_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	IdleExpiresAt   time.Time `json:"idle_expires_at"`
	AccessExpiresAt time.Time `json:"access_expires_at"`

	Current       string    `json:"current"`
	Previous      string    `json:"previous,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`

	UserAgent string `json:"user_agent,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// identityRecord is a core.Identity as sessionRecord stores it. Roles and scopes came
// after version 2 without a new version: they are left out when empty, so a session
// without them is stored exactly as before, and records without them, of either
// version, read as sessions without them. A gatehouse older than them reads a record
// that has them as a session without them: tokens with fewer rights, never more.
type identityRecord struct {
	Subject  string         `json:"sub"`
	Email    string         `json:"email,omitempty"`
	Name     string         `json:"name,omitempty"`
	Provider string         `json:"provider,omitempty"`
	Claims   map[string]any `json:"claims,omitempty"`
	Roles    []string       `json:"roles,omitempty"`
	Scopes   []string       `json:"scopes,omitempty"`
}

// sessionVersion is the version of the session records this code writes.
const sessionVersion = 2

func encodeSession(s *core.Session) ([]byte, error) {
	b, err := json.Marshal(sessionRecord{
		V:  sessionVersion,
		ID: s.ID,
		Identity: identityRecord{
			Subject:  s.Identity.Subject,
			Email:    s.Identity.Email,
			Name:     s.Identity.Name,
			Provider: s.Identity.Provider,
			Claims:   s.Identity.Claims,
			Roles:    s.Identity.Roles,
			Scopes:   s.Identity.Scopes,
		},
		CreatedAt:       s.CreatedAt,
		LastUsedAt:      s.LastUsedAt,
		ExpiresAt:       s.ExpiresAt,
		IdleExpiresAt:   s.IdleExpiresAt,
		AccessExpiresAt: s.AccessExpiresAt,
		Current:         s.Current,
		Previous:        s.Previous,
		PreviousUntil:   s.PreviousUntil,
		UserAgent:       s.UserAgent,
		IP:              s.IP,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	return b, nil
}

// decodeSession returns a new session decoded from b, a record of version 1 or 2.
// json.Unmarshal copies what it reads, so the result does not point into b, which may
// be bbolt's memory map.
func decodeSession(b []byte) (*core.Session, error) {
	var r sessionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: session record: %w", ErrCorrupt, err)
	}
	if r.V != 0 && r.V != sessionVersion {
		return nil, fmt.Errorf("%w: session record of version %d; this code reads version 1 (no \"v\") and %d",
			ErrCorrupt, r.V, sessionVersion)
	}
	return &core.Session{
		ID: r.ID,
		Identity: core.Identity{
			Subject:  r.Identity.Subject,
			Email:    r.Identity.Email,
			Name:     r.Identity.Name,
			Provider: r.Identity.Provider,
			Claims:   r.Identity.Claims,
			Roles:    r.Identity.Roles,
			Scopes:   r.Identity.Scopes,
		},
		CreatedAt:       r.CreatedAt,
		LastUsedAt:      r.LastUsedAt,
		ExpiresAt:       r.ExpiresAt,
		IdleExpiresAt:   r.IdleExpiresAt,
		AccessExpiresAt: r.AccessExpiresAt,
		Current:         r.Current,
		Previous:        r.Previous,
		PreviousUntil:   r.PreviousUntil,
		UserAgent:       r.UserAgent,
		IP:              r.IP,
	}, nil
}
