package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
)

func loadOrStore(t *testing.T, s core.Store, name string, value []byte) []byte {
	t.Helper()
	got, err := s.LoadOrStoreKey(context.Background(), name, value)
	if err != nil {
		t.Fatalf("LoadOrStoreKey(%q): %v", name, err)
	}
	return got
}

// wantKey fails t unless LoadOrStoreKey(name, probe) returns want.
func wantKey(t *testing.T, s core.Store, name string, want []byte) {
	t.Helper()
	if got := loadOrStore(t, s, name, []byte("probe, must not be stored")); !bytes.Equal(got, want) {
		t.Errorf("LoadOrStoreKey(%q) = %q, want %q", name, got, want)
	}
}

// allBytes is a value no text encoding survives unharmed.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func testKeys(t *testing.T, h harness) {
	t.Run("First value wins", func(t *testing.T) {
		s := h.open(t)
		first := allBytes()
		if got := loadOrStore(t, s, "signing", first); !bytes.Equal(got, first) {
			t.Errorf("first LoadOrStoreKey = %q, want the value given %q", got, first)
		}
		if got := loadOrStore(t, s, "signing", []byte("second")); !bytes.Equal(got, first) {
			t.Errorf("second LoadOrStoreKey = %q, want the first value %q", got, first)
		}
		// Names are distinct keys, not prefixes of one another.
		for _, name := range []string{"signing2", "signin", "Signing", "other"} {
			v := []byte("value of " + name)
			if got := loadOrStore(t, s, name, v); !bytes.Equal(got, v) {
				t.Errorf("LoadOrStoreKey(%q) = %q, want its own value %q", name, got, v)
			}
		}
		wantKey(t, s, "signing", allBytes())
	})

	t.Run("Values are copied in and out", func(t *testing.T) {
		s := h.open(t)
		in := []byte("secret-1")
		stored := loadOrStore(t, s, "k", in) // the value stored
		in[0] = 'X'
		wantKey(t, s, "k", []byte("secret-1"))
		loaded := loadOrStore(t, s, "k", []byte("other")) // the value loaded
		for _, out := range [][]byte{stored, loaded} {
			if len(out) > 0 {
				out[0] = 'Y'
			}
			wantKey(t, s, "k", []byte("secret-1"))
		}
	})

	t.Run("Concurrent callers get one value", func(t *testing.T) {
		s := h.open(t)
		const n = 20
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			got   = make([][]byte, n)
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = s.LoadOrStoreKey(context.Background(), "signing", fmt.Appendf(nil, "value-%02d", i))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: %v", i, err)
			}
		}
		offered := false
		for i := range n {
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
			}
			offered = offered || bytes.Equal(got[0], fmt.Appendf(nil, "value-%02d", i))
		}
		if !offered {
			t.Errorf("callers got %q, which none of them offered", got[0])
		}
		wantKey(t, s, "signing", got[0])
	})

	t.Run("Keys survive Purge", func(t *testing.T) {
		s := h.open(t)
		loadOrStore(t, s, "signing", []byte("v1"))
		purge(t, s, at(100*365*day), 0)
		wantKey(t, s, "signing", []byte("v1"))
	})
}
