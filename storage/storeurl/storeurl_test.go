package storeurl_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

var ctx = context.Background()

func TestParse(t *testing.T) {
	cases := []struct {
		url  string
		want storeurl.Location // Kind, Path, Addr, DB, TLS
	}{
		{"memory", storeurl.Location{Kind: storeurl.Memory}},
		{"bolt:gatehouse.db", storeurl.Location{Kind: storeurl.Bolt, Path: "gatehouse.db"}},
		{"bolt:./data/gatehouse.db", storeurl.Location{Kind: storeurl.Bolt, Path: "./data/gatehouse.db"}},
		{"bolt:/var/lib/app/gatehouse.db", storeurl.Location{Kind: storeurl.Bolt, Path: "/var/lib/app/gatehouse.db"}},
		{"bolt:///var/lib/app/gatehouse.db", storeurl.Location{Kind: storeurl.Bolt, Path: "/var/lib/app/gatehouse.db"}},
		{"bolt:my store?.db", storeurl.Location{Kind: storeurl.Bolt, Path: "my store?.db"}},
		{"redis://127.0.0.1:6379/0", storeurl.Location{Kind: storeurl.Redis, Addr: "127.0.0.1:6379"}},
		{"redis://:s3cret@redis.internal:6380/2", storeurl.Location{Kind: storeurl.Redis, Addr: "redis.internal:6380", DB: 2}},
		{"redis://localhost", storeurl.Location{Kind: storeurl.Redis, Addr: "localhost:6379"}},
		{"rediss://redis.example.com:6380/1?dial_timeout=5s", storeurl.Location{Kind: storeurl.Redis, Addr: "redis.example.com:6380", DB: 1, TLS: true}},
		{"postgres://gh:s3cret@127.0.0.1:5433/app?sslmode=disable", storeurl.Location{Kind: storeurl.Postgres, Addr: "127.0.0.1:5433", Database: "app"}},
		{"postgresql://db.internal/app?sslmode=require", storeurl.Location{Kind: storeurl.Postgres, Addr: "db.internal:5432", Database: "app", TLS: true}},
		{"postgres://db.internal/app?sslmode=prefer", storeurl.Location{Kind: storeurl.Postgres, Addr: "db.internal:5432", Database: "app"}},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			got, err := storeurl.Parse(tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Kind != tc.want.Kind || got.Path != tc.want.Path || got.Addr != tc.want.Addr || got.DB != tc.want.DB ||
				got.TLS != tc.want.TLS || got.Database != tc.want.Database {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		name, url string
		says      string // the error contains it
	}{
		{"empty", "", "empty store URL"},
		{"unknown scheme", "mysql://db/gatehouse", `unknown store "mysql://db/gatehouse"`},
		{"a bare path", "gatehouse.db", "want bolt:PATH"},
		{"memory with a colon", "memory:", "unknown store"},
		{"capitals", "Memory", "unknown store"},
		{"bolt without a path", "bolt:", "needs a file path"},
		{"bolt with a host", "bolt://data/gatehouse.db", "names a host"},
		{"bolt directory", "bolt:/var/lib/", "names a directory"},
		{"bolt NUL", "bolt:a\x00b", "NUL"},
		{"redis without a host", "redis://", "names no host"},
		{"redis with a port only", "redis://:6379/0", "names no host"},
		{"redis bad database", "redis://127.0.0.1:6379/zero", "invalid database number"},
		{"redis bad port", "redis://127.0.0.1:http/0", "not a Redis URL"},
		{"redis bad option", "redis://127.0.0.1:6379/0?dial_timeout=soon", "dial_timeout"},
		{"postgres bad sslmode", "postgres://db/app?sslmode=bogus", "not a PostgreSQL URL"},
		{"postgres bad port", "postgresql://db:http/app", "not a PostgreSQL URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := storeurl.Parse(tc.url)
			if !errors.Is(err, core.ErrConfig) {
				t.Fatalf("Parse(%q): error = %v, want one matching core.ErrConfig", tc.url, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Parse(%q): error %q does not say %q", tc.url, err, tc.says)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q): error of several lines: %q", tc.url, err)
			}
			// Open refuses it too, before touching anything.
			if _, err := storeurl.Open(ctx, tc.url); !errors.Is(err, core.ErrConfig) {
				t.Errorf("Open(%q): error = %v, want core.ErrConfig", tc.url, err)
			}
		})
	}
}

func TestPasswordsNeverShow(t *testing.T) {
	for _, raw := range []string{
		"redis://:hunter2-secret@127.0.0.1:6379/zero",
		"redis://user:hunter2-secret@127.0.0.1:http/0",
		"rediss://user:hunter2-secret@/0",
		"redis://user:hunter2-secret@127.0.0.1:6379/0?dial_timeout=soon",
		"postgres://user:hunter2-secret@db/x?sslmode=bogus",
		"postgres://user:hunter2-secret@127.0.0.1:1/x?sslmode=disable", // parses, then fails to connect
		"redis://user:hunter2-secret@127.0.0.1:1/0",                    // parses, then fails to connect
	} {
		_, err := storeurl.Open(ctx, raw)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): error shows the password: %v", raw, err)
		}
	}
	loc, err := storeurl.Parse("redis://user:hunter2-secret@127.0.0.1:6379/0")
	if err != nil {
		t.Fatal(err)
	}
	if s := loc.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "user:xxxxx@") {
		t.Errorf("Location.String() = %q, want the password replaced", s)
	}
}

func TestOpenMemory(t *testing.T) {
	s, err := storeurl.Open(ctx, "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*memstore.Store); !ok {
		t.Errorf("Open(memory) = %T, want *memstore.Store", s)
	}
}

func TestOpenBolt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s, err := storeurl.Open(ctx, "bolt:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*boltstore.Store); !ok {
		t.Errorf("Open(bolt:…) = %T, want *boltstore.Store", s)
	}
	if err := s.RevokeToken(ctx, "jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	t.Run("locked", func(t *testing.T) {
		_, err := storeurl.Open(ctx, "bolt:"+path, storeurl.WithBoltOptions(boltstore.WithLockTimeout(50*time.Millisecond)))
		if !errors.Is(err, boltstore.ErrLocked) || !strings.Contains(err.Error(), "bolt:"+path) {
			t.Errorf("second Open: error = %v, want boltstore.ErrLocked naming the URL", err)
		}
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("reopened, with WithoutCreate", func(t *testing.T) {
		s, err := storeurl.Open(ctx, "bolt:"+path, storeurl.WithoutCreate())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if revoked, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !revoked {
			t.Errorf("IsRevoked after reopening = %v, %v", revoked, err)
		}
	})
	t.Run("URL style", func(t *testing.T) {
		if !filepath.IsAbs(path) {
			t.Skip("temp dir not absolute")
		}
		s, err := storeurl.Open(ctx, "bolt://"+path, storeurl.WithoutCreate())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})

	refused := []struct {
		name, path string
		opts       []storeurl.Option
		says       string
		notExist   bool
	}{
		{"missing file WithoutCreate", filepath.Join(dir, "typo.db"), []storeurl.Option{storeurl.WithoutCreate()}, "does not exist", true},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "gatehouse.db"), nil, "directory " + filepath.Join(dir, "no", "such", "dir") + " does not exist", false},
		{"a directory", dir, nil, "is a directory", false},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadDir(dir)
			_, err := storeurl.Open(ctx, "bolt:"+tc.path, tc.opts...)
			if !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Open: error = %v, want core.ErrConfig saying %q", err, tc.says)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.notExist {
				t.Errorf("Open: error matches fs.ErrNotExist: %v, want %v", got, tc.notExist)
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("a refused Open created files: %v, before %v", after, before)
			}
		})
	}
	t.Run("file readable by others", func(t *testing.T) {
		// The same error as boltstore.Open's, naming the file and the fix, and the file
		// left as it was; opened with boltstore.InsecureAllowReadableFile.
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o600)
		_, err := storeurl.Open(ctx, "bolt:"+path)
		if !errors.Is(err, boltstore.ErrReadableFile) || !errors.Is(err, core.ErrConfig) ||
			!strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("Open: error = %v, want boltstore.ErrReadableFile naming the file and chmod 600", err)
		}
		if info, err := os.Stat(path); err != nil {
			t.Fatal(err)
		} else if mode := info.Mode().Perm(); mode != 0o644 {
			t.Errorf("file after the refused Open has mode %04o, want 0644 left alone", mode)
		}
		s, err := storeurl.Open(ctx, "bolt:"+path, storeurl.WithBoltOptions(boltstore.InsecureAllowReadableFile()))
		if err != nil {
			t.Fatalf("Open with boltstore.InsecureAllowReadableFile: %v", err)
		}
		s.Close()
	})
	t.Run("damaged file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "garbage.db")
		if err := os.WriteFile(bad, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := storeurl.Open(ctx, "bolt:"+bad); !errors.Is(err, boltstore.ErrCorrupt) {
			t.Errorf("Open: error = %v, want boltstore.ErrCorrupt", err)
		}
	})
}

func TestOpenRedis(t *testing.T) {
	srv := redistest.Start(t)
	s, err := storeurl.Open(ctx, srv.URL(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(core.Migrator); !ok {
		t.Errorf("Open(redis://…) = %T, which is no core.Migrator", s)
	}
	if _, err := s.LoadOrStoreKey(ctx, "signing/HS256", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// The database of the URL, and redisstore's default prefix.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 3})
	defer c.Close()
	if v, err := c.Get(ctx, redisstore.DefaultPrefix+"k:signing/HS256").Result(); err != nil || v != "v" {
		t.Errorf("GET in database 3 = %q, %v; want the key Open's store wrote", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, core.ErrStoreClosed) {
		t.Errorf("second Close: %v, want core.ErrStoreClosed", err)
	}

	t.Run("options reach the store and the client", func(t *testing.T) {
		var dialTimeout time.Duration
		s, err := storeurl.Open(ctx, srv.URL(4)+"?dial_timeout=7s",
			storeurl.WithRedisOptions(redisstore.WithPrefix("app:")),
			storeurl.WithRedisClientOptions(func(o *redis.Options) { dialTimeout = o.DialTimeout }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if dialTimeout != 7*time.Second {
			t.Errorf("dial timeout %v, want the URL's 7s", dialTimeout)
		}
		if _, err := s.LoadOrStoreKey(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 4})
		defer c.Close()
		if n, err := c.Exists(ctx, "app:k:k").Result(); err != nil || n != 1 {
			t.Errorf("EXISTS app:k:k = %d, %v: the prefix option did not reach the store", n, err)
		}
	})

	t.Run("fail-fast settings", func(t *testing.T) {
		var got redis.Options
		s, err := storeurl.Open(ctx, srv.URL(0), storeurl.WithRedisClientOptions(func(o *redis.Options) { got = *o }))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got.DialerRetries != 1 || got.MaxRetries != 1 || got.DialTimeout != storeurl.DefaultDialTimeout {
			t.Errorf("client options: DialerRetries %d, MaxRetries %d, DialTimeout %v; want 1, 1, %v",
				got.DialerRetries, got.MaxRetries, got.DialTimeout, storeurl.DefaultDialTimeout)
		}
	})
}

func TestOpenRedisUnreachable(t *testing.T) {
	redis.SetLogger(quiet{})
	addr := closedPort(t)
	start := time.Now()
	_, err := storeurl.Open(ctx, "redis://"+addr+"/0")
	took := time.Since(start)
	if !errors.Is(err, core.ErrStoreUnavailable) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Open: error = %v, want core.ErrStoreUnavailable saying the connection was refused", err)
	}
	if !strings.Contains(err.Error(), "redis://"+addr+"/0") {
		t.Errorf("Open: error %q does not name the URL", err)
	}
	// go-redis's defaults (5 dial attempts, 3 retries) take over a second.
	if took > time.Second {
		t.Errorf("Open of a Redis that is down took %v; it must fail fast", took)
	}
}

func TestOpenPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	s, err := storeurl.Open(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(core.Migrator); !ok {
		t.Errorf("Open(postgres://…) = %T, which is no core.Migrator", s)
	}
	if _, err := s.LoadOrStoreKey(ctx, "signing/HS256", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// The database of the URL, and pgstore's default schema and prefix.
	c, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v []byte
	if err := c.QueryRow(ctx, "SELECT value FROM "+pgx.Identifier{pgstore.DefaultSchema, pgstore.DefaultTablePrefix + "keys"}.Sanitize()+
		" WHERE name = $1", []byte("signing/HS256")).Scan(&v); err != nil || string(v) != "v" {
		t.Errorf("the key Open's store wrote = %q, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, core.ErrStoreClosed) {
		t.Errorf("second Close: %v, want core.ErrStoreClosed", err)
	}

	t.Run("postgresql scheme, options reach the store and the pool", func(t *testing.T) {
		var timeout time.Duration
		url := strings.Replace(srv.URL("postgres"), "postgres://", "postgresql://", 1) + "&connect_timeout=7"
		s, err := storeurl.Open(ctx, url,
			storeurl.WithPostgresOptions(pgstore.WithSchema("app")),
			storeurl.WithPostgresPoolConfig(func(c *pgxpool.Config) { timeout = c.ConnConfig.ConnectTimeout }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if timeout != 7*time.Second {
			t.Errorf("connect timeout %v, want the URL's 7s", timeout)
		}
		if err := s.RevokeToken(ctx, "jti-1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM app.gatehouse_revocations").Scan(&n); err != nil || n != 1 {
			t.Errorf("revocations in schema app = %d, %v: the schema option did not reach the store", n, err)
		}
	})

	t.Run("fail-fast settings", func(t *testing.T) {
		var timeout time.Duration
		s, err := storeurl.Open(ctx, srv.URL("postgres"),
			storeurl.WithPostgresPoolConfig(func(c *pgxpool.Config) { timeout = c.ConnConfig.ConnectTimeout }))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if timeout != storeurl.DefaultDialTimeout {
			t.Errorf("connect timeout %v, want %v", timeout, storeurl.DefaultDialTimeout)
		}
	})

	t.Run("schema not migrated", func(t *testing.T) {
		_, err := storeurl.Open(ctx, srv.URL("postgres"), storeurl.WithPostgresOptions(
			pgstore.WithSchema("never_migrated"), pgstore.WithoutMigrate()))
		if !errors.Is(err, pgstore.ErrSchema) {
			t.Errorf("Open: %v, want %v", err, pgstore.ErrSchema)
		}
	})
}

func TestOpenPostgresUnreachable(t *testing.T) {
	addr := closedPort(t)
	url := "postgres://gh:hunter2@" + addr + "/app?sslmode=disable"
	start := time.Now()
	_, err := storeurl.Open(ctx, url)
	took := time.Since(start)
	if !errors.Is(err, core.ErrStoreUnavailable) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Open: error = %v, want core.ErrStoreUnavailable saying the connection was refused", err)
	}
	if !strings.Contains(err.Error(), "postgres://gh:xxxxx@"+addr+"/app") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open: error %q does not name the URL without its password", err)
	}
	if took > time.Second {
		t.Errorf("Open of a PostgreSQL that is down took %v; it must fail fast", took)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
