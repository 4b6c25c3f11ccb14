package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// maxBatch is the most writes one commit carries.
const maxBatch = 256

// op is one write waiting for the writer.
type op struct {
	// fn makes the write in tx. It may run more than once, in transactions that are
	// then rolled back, so it must set every result it reports each time and touch
	// nothing outside tx. An answer that is not a failure (ErrRefreshReused, say) is a
	// result fn sets, after checking before writing anything; an error returned by fn
	// is a failure and rolls its transaction back.
	fn func(tx *bolt.Tx) error
	// after, if set, runs once the transaction in which fn last ran is durable, before
	// the caller is answered: the in-memory filters learn of a revocation only once it
	// cannot be lost, which is what makes their rebuild race-free.
	after func()
	err   error
	done  chan struct{}
}

// update queues a write and waits for it to be durable. Writes are grouped: one
// goroutine, the writer, takes every write queued while the previous commit ran and
// makes them in one transaction with one commit (two fdatasyncs), so that many
// concurrent logouts share the cost of a commit instead of queueing for one each. A
// write queued before ctx is done is carried out and its result reported whatever ctx
// does meanwhile: abandoning it could report a failure for a rotation that happened.
func (s *Store) update(ctx context.Context, name string, fn func(*bolt.Tx) error, after func()) error {
	o := &op{fn: fn, after: after, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return closedError(name)
	}
	if err := ctx.Err(); err != nil {
		s.mu.RUnlock()
		return failed(name, err)
	}
	s.ops <- o // Close waits for this send: the writer drains ops before it stops
	s.mu.RUnlock()
	<-o.done
	if o.err != nil {
		return failed(name, o.err)
	}
	return nil
}

// writeLoop is the writer. It runs until Close, then makes the writes still queued.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-s.ops:
			s.commit(s.take(append(batch[:0], o)))
		case <-s.quit:
			// Close set closed under mu before quit, so nothing more is sent.
			for {
				if rest := s.take(batch[:0]); len(rest) > 0 {
					s.commit(rest)
					continue
				}
				return
			}
		}
	}
}

// take adds to batch the writes queued now, without waiting, up to maxBatch.
func (s *Store) take(batch []*op) []*op {
	for len(batch) < maxBatch {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// commit makes the writes of batch in one transaction and answers them. If one write
// fails, the transaction is rolled back, that write gets its error, and the others are
// made again without it. If the commit itself fails, every write of the batch gets the
// error: none of them happened.
func (s *Store) commit(batch []*op) {
	for len(batch) > 0 {
		bad := -1
		err := guard("write", func() error {
			return s.db.Update(func(tx *bolt.Tx) error {
				for i, o := range batch {
					if err := o.fn(tx); err != nil {
						bad = i
						return err
					}
				}
				return nil
			})
		})
		switch {
		case err == nil:
			s.commits.Add(1)
			s.writes.Add(uint64(len(batch)))
			for _, o := range batch {
				if o.after != nil {
					o.after()
				}
			}
			for _, o := range batch {
				close(o.done)
			}
			return
		case bad < 0: // begin or commit failed, or bbolt panicked
			for _, o := range batch {
				o.err = err
				close(o.done)
			}
			return
		default:
			batch[bad].err = err
			close(batch[bad].done)
			rest := make([]*op, 0, len(batch)-1)
			batch = append(append(rest, batch[:bad]...), batch[bad+1:]...)
		}
	}
}
