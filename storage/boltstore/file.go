package boltstore

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file format (version 2, unchanged since 2014): a 16-byte page header, then,
// on pages 0 and 1, a meta record whose last field is an FNV-64a checksum of the rest,
// in the machine's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64 // magic, version, pageSize, flags, root (16), freelist, pgid, txid, checksum
	metaSumOffset  = 56
)

type meta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages in use
	txid     uint64
}

// parseMeta decodes the meta record of the page starting at b, or reports it invalid.
func parseMeta(b []byte) (meta, bool) {
	if len(b) < pageHeaderSize+metaSize {
		return meta{}, false
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.NativeEndian
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[metaSumOffset:]) != h.Sum64() {
		return meta{}, false
	}
	return meta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// checkTruncated fails with ErrCorrupt if f is shorter than the pages its current meta
// record says are in use. bbolt memory-maps the file and, when it opens one for
// writing, reads its freelist at once: on a truncated file that read can land past the
// end of the file and fault (SIGBUS), before Open could look at anything. Files with no
// valid meta record are left for bbolt to refuse.
func checkTruncated(f *os.File) error {
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return err // an empty file is a new store
	}
	first := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(first, 0); err != nil && err != io.EOF {
		return err
	}
	best, ok := parseMeta(first)
	// The second meta page sits one page in: its size comes from the first meta, or
	// is the OS page size bbolt creates files with when the first is unreadable.
	pageSize := int64(os.Getpagesize())
	if ok {
		pageSize = int64(best.pageSize)
	}
	second := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(second, pageSize); err == nil {
		if m, ok2 := parseMeta(second); ok2 && (!ok || m.txid > best.txid) {
			best, ok = m, true
		}
	}
	if !ok {
		return nil
	}
	if want := int64(best.pgid) * int64(best.pageSize); info.Size() < want {
		return fmt.Errorf("%w: file has %d bytes, its meta page says %d (truncated)", ErrCorrupt, info.Size(), want)
	}
	return nil
}
