// Package durable measures gatehouse's durable writes on bbolt: logouts, refreshes and
// sign-ins from many clients at once, on a store holding a given number of sessions.
package durable

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// Result is one measurement.
type Result struct {
	Op       string // logout, refresh or sign-in
	Sessions int    // sessions in the store
	Clients  int
	Ops      int
	Elapsed  time.Duration
	// Commits and Writes are the store's commits and the writes they carried during
	// the measurement (boltstore.Stats): Writes/Commits is the group-commit batch.
	Commits, Writes uint64
	// Written is what this process sent to storage during the measurement (Linux's
	// /proc/self/io write_bytes; 0 elsewhere).
	Written uint64
}

// KBPerCommit is how much a commit wrote to storage.
func (r Result) KBPerCommit() float64 {
	if r.Commits == 0 {
		return 0
	}
	return float64(r.Written) / 1024 / float64(r.Commits)
}

// PerSecond is the throughput.
func (r Result) PerSecond() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// Batch is the average number of writes per commit.
func (r Result) Batch() float64 {
	if r.Commits == 0 {
		return 0
	}
	return float64(r.Writes) / float64(r.Commits)
}

// Bed is a bbolt store holding sessions, and a gatehouse instance on it.
type Bed struct {
	Store    *boltstore.Store
	Auth     *core.Auth
	path     string
	sessions []live // what the store holds, in no order
	template core.Session
	serial   int
}

type live struct {
	sid, refresh string // refresh is "" for a session made by hand (logout only)
}

// Open makes a bbolt store in dir holding n sessions, each with a refresh token. The
// sessions are signed in on a memory store, then imported: n durable sign-ins would
// take as long as the measurement.
func Open(dir string, n int) (*Bed, error) {
	key := fixture.HMACKey()
	mem := memstore.New()
	defer mem.Close()
	issuer, err := fixture.NewAuth(mem, key)
	if err != nil {
		return nil, err
	}
	b := &Bed{path: filepath.Join(dir, fmt.Sprintf("sessions-%d.db", n))}
	b.sessions = make([]live, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				t, err := issuer.Issue(context.Background(), identity(i), core.Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", IP: "192.0.2.1"})
				if err != nil {
					errs[w] = err
					return
				}
				b.sessions[i] = live{sid: t.Session.ID, refresh: t.RefreshToken}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var entries []core.Entry
	err = mem.Export(context.Background(), func(e core.Entry) error {
		if e.Kind == core.EntrySession {
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.template = *entries[0].Session
	if b.Store, err = boltstore.Open(b.path, boltstore.WithPurgeInterval(0)); err != nil {
		return nil, err
	}
	if err := importAll(b.Store, entries); err != nil {
		b.Close()
		return nil, err
	}
	if b.Auth, err = fixture.NewAuth(b.Store, key); err != nil {
		b.Close()
		return nil, err
	}
	b.serial = n
	return b, nil
}

func identity(i int) core.Identity {
	return core.Identity{Subject: fmt.Sprintf("https://accounts.google.com|%021d", i), Email: fmt.Sprintf("user%d@example.com", i), Name: "Ada Lovelace"}
}

func importAll(s *boltstore.Store, entries []core.Entry) error {
	const chunk = 20_000
	for lo := 0; lo < len(entries); lo += chunk {
		if err := s.Import(context.Background(), entries[lo:min(lo+chunk, len(entries))]); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the store and removes its file.
func (b *Bed) Close() error {
	err := b.Store.Close()
	return errors.Join(err, os.Remove(b.path))
}

// Logouts measures Auth.Logout (the session deleted and its id revoked, durably) from
// clients goroutines for about d. It logs out a tenth of the sessions at a time, then
// puts as many new ones in (not measured), so that the store keeps its size within 10%.
func (b *Bed) Logouts(clients int, d time.Duration) (Result, error) {
	r := Result{Op: "logout", Sessions: len(b.sessions), Clients: clients}
	per := max(clients, len(b.sessions)/10/clients*clients)
	before := b.Store.Stats()
	for r.Elapsed < d {
		round := b.sessions[len(b.sessions)-per:]
		var next atomic.Int64
		var failed atomic.Value
		start, w0 := time.Now(), written()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(round) {
						return
					}
					if err := b.Auth.Logout(context.Background(), round[i].sid); err != nil {
						failed.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		r.Elapsed += time.Since(start)
		r.Written += written() - w0
		r.Ops += len(round)
		if err, _ := failed.Load().(error); err != nil {
			return r, err
		}
		if err := b.refill(round); err != nil {
			return r, err
		}
	}
	after := b.Store.Stats()
	r.Commits, r.Writes = after.Commits-before.Commits, after.Writes-before.Writes
	// The refills are one commit each.
	rounds := uint64(r.Ops / per)
	r.Commits -= min(r.Commits, rounds)
	r.Writes -= min(r.Writes, rounds)
	return r, nil
}

// refill replaces the logged-out sessions of round by new ones, made by hand from a
// template (a logout needs no token), in one import.
func (b *Bed) refill(round []live) error {
	entries := make([]core.Entry, len(round))
	for i := range round {
		s := b.template
		s.ID = fmt.Sprintf("r%021d", b.serial) // 22 characters, as gatehouse's ids
		s.Identity = identity(b.serial)
		b.serial++
		entries[i] = core.Entry{Kind: core.EntrySession, ID: s.ID, Session: &s}
		round[i] = live{sid: s.ID}
	}
	return b.Store.Import(context.Background(), entries)
}

// Refreshes measures Auth.Refresh (the refresh token verified, the session read, a new
// access token signed, the rotation written durably) from clients goroutines for d,
// each client refreshing its own share of the sessions in turn.
func (b *Bed) Refreshes(clients int, d time.Duration) (Result, error) {
	r := Result{Op: "refresh", Sessions: len(b.sessions), Clients: clients}
	var ops atomic.Int64
	var failed atomic.Value
	var stop atomic.Bool
	before, w0 := b.Store.Stats(), written()
	start := time.Now()
	time.AfterFunc(d, func() { stop.Store(true) })
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; !stop.Load(); i += clients {
				if i >= len(b.sessions) {
					i = c
				}
				s := &b.sessions[i]
				if s.refresh == "" {
					continue // made by hand for a logout
				}
				t, err := b.Auth.Refresh(context.Background(), s.refresh)
				if err != nil {
					failed.Store(fmt.Errorf("refresh of session %d: %w", i, err))
					return
				}
				s.refresh = t.RefreshToken
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.Written = written() - w0
	after := b.Store.Stats()
	r.Ops = int(ops.Load())
	r.Commits, r.Writes = after.Commits-before.Commits, after.Writes-before.Writes
	if err, _ := failed.Load().(error); err != nil {
		return r, err
	}
	return r, nil
}

// SignIns measures Auth.Issue (the session created durably, then the subject's
// sessions read for the cap) from clients goroutines for d, each for a new subject.
// The store grows by what it measures.
func (b *Bed) SignIns(clients int, d time.Duration) (Result, error) {
	r := Result{Op: "sign-in", Sessions: len(b.sessions), Clients: clients}
	var ops, serial atomic.Int64
	serial.Store(int64(b.serial))
	var failed atomic.Value
	var stop atomic.Bool
	before, w0 := b.Store.Stats(), written()
	start := time.Now()
	time.AfterFunc(d, func() { stop.Store(true) })
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for !stop.Load() {
				id := identity(int(serial.Add(1)))
				if _, err := b.Auth.Issue(context.Background(), id, core.Client{UserAgent: "bench", IP: "192.0.2.1"}); err != nil {
					failed.Store(err)
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.Written = written() - w0
	b.serial = int(serial.Load()) + 1
	after := b.Store.Stats()
	r.Ops = int(ops.Load())
	r.Commits, r.Writes = after.Commits-before.Commits, after.Writes-before.Writes
	if err, _ := failed.Load().(error); err != nil {
		return r, err
	}
	return r, nil
}

// FsyncLatency is the median time, of n tries, of writing pages 4-KiB pages at
// scattered offsets of a file in dir and fdatasync: the floor of a commit, which makes
// two (its pages, then its meta page).
func FsyncLatency(dir string, pages, n int) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	const span = 16384 // pages: a 64 MiB file
	if err := f.Truncate(span * 4096); err != nil {
		return 0, err
	}
	if err := fdatasync(f); err != nil {
		return 0, err
	}
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		for p := range pages {
			off := int64((i*pages+p)*7919%span) * 4096
			if _, err := f.WriteAt(page, off); err != nil {
				return 0, err
			}
		}
		if err := fdatasync(f); err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
	}
	return median(times), nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
