// Package durable measures gatehouse's durable writes on bbolt: logouts, refreshes and
// sign-ins from many clients at once, on a store holding a given number of sessions.
package durable

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
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

// newID is a session or token id as gatehouse makes them: 16 random bytes, 22
// characters of base64url.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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

// OpenTime closes the store and opens it again, as a restarted server does, and
// returns how long Open took (the file is in the page cache: a cold start reads it
// from the disk too) and the size of the file.
func (b *Bed) OpenTime() (time.Duration, int64, error) {
	if err := b.Store.Close(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	s, err := boltstore.Open(b.path, boltstore.WithPurgeInterval(0))
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	b.Store = s
	if b.Auth, err = fixture.NewAuth(s, fixture.HMACKey()); err != nil {
		return 0, 0, err
	}
	info, err := os.Stat(b.path)
	if err != nil {
		return 0, 0, err
	}
	return took, info.Size(), nil
}

// Close closes the store and removes its file.
func (b *Bed) Close() error {
	err := b.Store.Close()
	return errors.Join(err, os.Remove(b.path))
}

// Logouts measures Auth.Logout (the session deleted and its id revoked, durably) from
// clients goroutines for about d. It logs out a tenth of the sessions at a time, drawn
// at random (users log out whenever, not in the order they signed in: sessions signed
// in one after another have neighbouring keys in the subject and expiry indexes, and
// logging them out in that order measured half the bytes per commit of random ones),
// then puts as many new ones in (not measured), so that the store keeps its size within
// 10%.
func (b *Bed) Logouts(clients int, d time.Duration) (Result, error) {
	r := Result{Op: "logout", Sessions: len(b.sessions), Clients: clients}
	per := max(clients, len(b.sessions)/10/clients*clients)
	before := b.Store.Stats()
	for r.Elapsed < d {
		mrand.Shuffle(len(b.sessions), func(i, j int) { b.sessions[i], b.sessions[j] = b.sessions[j], b.sessions[i] })
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
// template (a logout needs no token), in one import. Their ids are random, as
// gatehouse's: ids in key order would put the next round's logouts on neighbouring
// pages.
func (b *Bed) refill(round []live) error {
	entries := make([]core.Entry, len(round))
	for i := range round {
		s := b.template
		s.ID, s.Current = newID(), newID()
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

// FsyncLatency is the median time, of n tries, of writing pages 4-KiB pages and
// fdatasync, at scattered offsets of a file in dir or, with contiguous, in one write:
// the floor of a commit, which makes two (its pages, then its meta page). The file's
// blocks are written once first, so that every try overwrites blocks on the disk, as a
// commit of a store in use does: writes into a new sparse file are placed side by side
// by the file system, and measured several times faster.
func FsyncLatency(dir string, pages, n int, contiguous bool) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const span = 16384 // pages: a 64 MiB file
	chunk := make([]byte, 1<<20)
	for off := int64(0); off < span*4096; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			return 0, err
		}
	}
	if err := fdatasync(f); err != nil {
		return 0, err
	}
	page, run := make([]byte, 4096), make([]byte, pages*4096)
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if contiguous {
			if _, err := f.WriteAt(run, int64(i*7919%(span-pages))*4096); err != nil {
				return 0, err
			}
		} else {
			for p := range pages {
				off := int64((i*pages+p)*7919%span) * 4096
				if _, err := f.WriteAt(page, off); err != nil {
					return 0, err
				}
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
