package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// sessionRecord is a session as records of versions 1 and 2 store it, in JSON. It is
// this package's own type, with its own JSON names, so that the file format changes
// only when this type does: renaming a field of core.Session, or changing its tags,
// changes nothing on disk.
//
// Version 1 records, written before the record had a type of its own, are the JSON of
// core.Session at v0.1.0 and have no "v"; version 2 kept every name they use, so they
// decode as they are (V 0). This code writes neither: it writes version 3, binary (see
// encodeSession), and reads all three. A session of version 1 or 2 becomes version 3
// when it is written again (testdata/format-v1.bolt and testdata/format-v3.bolt are
// files of them). A record of a version this code does not know, written by a newer
// gatehouse, is refused as ErrCorrupt rather than misread.
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

// jsonVersion is the last version of the JSON records.
const jsonVersion = 2

// sessionVersion is the version of the session records this code writes, and the
// first byte of each: a JSON record starts with '{'.
const sessionVersion = 3

// encodeSession encodes s as a version 3 record: the byte 3, then the strings ID,
// Subject, Email, Name, Provider, Current, Previous, UserAgent and IP, each as its
// length (uvarint) and bytes; the times CreatedAt, LastUsedAt, ExpiresAt,
// IdleExpiresAt, AccessExpiresAt and PreviousUntil, each as Unix seconds (varint) and
// nanoseconds (uvarint); Roles and Scopes, each as a count and that many strings; and
// Claims as one string, its JSON, empty for none. A field added to core.Session must be
// added here and in decodeSession, at the end, under a new version, or it is not stored
// (TestSessionRecordCarriesEverything fails until it is).
//
// The record was JSON before (versions 1 and 2). A session of the bench took 511
// bytes of JSON and takes 242 so; decoding one took 11.5 µs against 1.6 µs, encoding
// 8.2 µs against 0.5 µs (2-core VM). The writer decodes and encodes the session of
// every refresh within its transaction, one at a time, and a refresh reads it once
// before: durable refreshes/s went up by a third to a half (bench/README.md). The price
// is a record no longer readable as text with a generic bbolt tool.
func encodeSession(s *core.Session) ([]byte, error) {
	var claims []byte
	if len(s.Identity.Claims) > 0 {
		var err error
		if claims, err = json.Marshal(s.Identity.Claims); err != nil {
			return nil, fmt.Errorf("encode session: claims: %w", err)
		}
	}
	b := make([]byte, 0, 160+len(s.ID)+len(s.Identity.Subject)+len(s.Identity.Email)+len(s.Identity.Name)+
		len(s.Current)+len(s.Previous)+len(s.UserAgent)+len(claims))
	b = append(b, sessionVersion)
	for _, v := range []string{s.ID, s.Identity.Subject, s.Identity.Email, s.Identity.Name, s.Identity.Provider,
		s.Current, s.Previous, s.UserAgent, s.IP} {
		b = appendString(b, v)
	}
	for _, t := range []time.Time{s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.IdleExpiresAt, s.AccessExpiresAt, s.PreviousUntil} {
		b = binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
	}
	for _, list := range [][]string{s.Identity.Roles, s.Identity.Scopes} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			b = appendString(b, v)
		}
	}
	return appendString(b, string(claims)), nil
}

func appendString(b []byte, v string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// recordReader reads the fields of a version 3 record in turn; the first that is cut
// short or malformed sets err, and every read after it returns a zero value.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// str copies a string out of the record, which may be bbolt's memory map.
func (r *recordReader) str() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	v := string(r.b[:n])
	r.b = r.b[n:]
	return v
}

func (r *recordReader) time() time.Time {
	sec, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (r *recordReader) list() []string {
	n := r.uvarint()
	if n > uint64(len(r.b)) { // each string takes a byte at least
		r.fail()
		return nil
	}
	var list []string
	for range n {
		list = append(list, r.str())
	}
	return list
}

func (r *recordReader) fail() {
	if r.err == nil {
		r.err = errors.New("cut short or malformed")
	}
	r.b = nil
}

// decodeSession returns a new session decoded from b, a record of version 1, 2 or 3.
// It copies what it reads, so the result does not point into b, which may be bbolt's
// memory map.
func decodeSession(b []byte) (*core.Session, error) {
	if len(b) > 0 && b[0] == sessionVersion {
		return decodeBinary(b[1:])
	}
	var r sessionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: session record: %w", ErrCorrupt, err)
	}
	if r.V != 0 && r.V != jsonVersion {
		return nil, fmt.Errorf("%w: session record of version %d; this code reads versions 1 (no \"v\"), %d and %d",
			ErrCorrupt, r.V, jsonVersion, sessionVersion)
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

// decodeBinary decodes the fields of a version 3 record, b without its first byte.
func decodeBinary(b []byte) (*core.Session, error) {
	r := &recordReader{b: b}
	s := &core.Session{}
	for _, p := range []*string{&s.ID, &s.Identity.Subject, &s.Identity.Email, &s.Identity.Name, &s.Identity.Provider,
		&s.Current, &s.Previous, &s.UserAgent, &s.IP} {
		*p = r.str()
	}
	for _, p := range []*time.Time{&s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &s.IdleExpiresAt, &s.AccessExpiresAt, &s.PreviousUntil} {
		*p = r.time()
	}
	s.Identity.Roles, s.Identity.Scopes = r.list(), r.list()
	claims := r.str()
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("%w: session record of version %d: %w", ErrCorrupt, sessionVersion, r.err)
	case len(r.b) > 0:
		return nil, fmt.Errorf("%w: session record of version %d: %d bytes after its end", ErrCorrupt, sessionVersion, len(r.b))
	case claims != "":
		if err := json.Unmarshal([]byte(claims), &s.Identity.Claims); err != nil {
			return nil, fmt.Errorf("%w: session record of version %d: claims: %w", ErrCorrupt, sessionVersion, err)
		}
	}
	return s, nil
}
