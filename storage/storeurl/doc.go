// Package storeurl opens a gatehouse store named by a URL, so that an application, its
// configuration and the gatehouse command name stores the same way:
//
//	bolt:PATH                              a bbolt file (boltstore), created if missing
//	redis://[user:password@]host:port/db   a Redis database (redisstore)
//	rediss://…                             the same over TLS
//	redis+cluster://[user:password@]host:port[,host:port…]
//	                                       a Redis Cluster (redisstore); rediss+cluster:// over TLS
//	postgres://[user:password@]host:port/database?sslmode=…
//	                                       a PostgreSQL database (pgstore); postgresql:// too
//	memory                                 an empty in-memory store (memstore)
//
// This is the GATEHOUSE_STORE setting of the example servers.
//
//	store, err := storeurl.Open(ctx, os.Getenv("GATEHOUSE_STORE"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	auth, err := core.New(store)
//
// # Errors
//
// A URL that names no store it knows, a bolt: URL without a path, a Redis URL without a
// host or with a bad database number, a Redis Cluster URL with an address that is not
// host:port or with a database, and a PostgreSQL URL that pgx cannot read are
// refused by Parse, and so by Open before it touches anything, with an error matching
// core.ErrConfig. So are a bolt path that is a directory or lies in a directory that
// does not exist (Open does not create directories), and, with WithoutCreate, a bolt
// file that does not exist (that error matches fs.ErrNotExist too). Failures to open a
// store that is named correctly are the store's own: boltstore.ErrLocked when another
// process has the file, boltstore.ErrCorrupt for a damaged one, boltstore.ErrReadableFile
// (matching core.ErrConfig, naming the file and chmod 600) for one that group or others
// may read, unless WithBoltOptions passes boltstore.InsecureAllowReadableFile,
// pgstore.ErrSchema for a
// PostgreSQL schema it may not migrate, and errors matching core.ErrStoreUnavailable
// when Redis or PostgreSQL cannot be reached. Errors never show a Redis or PostgreSQL
// password: URLs are printed with it replaced.
//
// # Redis
//
// Open makes the go-redis client itself, from redis.ParseURL, and sets it up to fail
// fast rather than wait through retries, as the redisstore documentation recommends:
// one dial attempt (DialerRetries 1), one retry of a failed command (MaxRetries 1),
// and a DialTimeout of DefaultDialTimeout. The URL's max_retries and dial_timeout
// parameters, and WithRedisClientOptions, override them. The store returned owns the
// client: Close closes both. It is not a *redisstore.Store but wraps one; it
// implements core.Migrator like the others.
//
// A redis+cluster:// URL lists some nodes of a Redis Cluster (one is enough, more
// help when one is down), separated by commas, with no database; go-redis finds the
// others. Its parameters are those of redis.ParseClusterURL (dial_timeout,
// max_retries, max_redirects, pool_size …); Open sets the same fail-fast defaults,
// and WithRedisClusterOptions changes the client's options. For example:
//
//	redis+cluster://app:secret@10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379?dial_timeout=1s
//
// # PostgreSQL
//
// Open makes a pgx pool from the URL (pgxpool.ParseConfig: pool_max_conns and the other
// pool_ parameters, sslmode, connect_timeout …) and gives it to pgstore.New, which
// migrates the schema unless WithPostgresOptions(pgstore.WithoutMigrate()) says
// otherwise. Unless the URL sets connect_timeout, a connection attempt gives up after
// DefaultDialTimeout, so that a database that is down is an error in seconds.
// WithPostgresPoolConfig changes the pool's configuration, WithPostgresOptions the
// store's (schema, table prefix …). The store returned owns the pool: Close closes
// both. It is not a *pgstore.Store but wraps one; it implements core.Migrator.
//
// # What it does not do
//
//   - It does not create directories, and does not expand ~ or environment variables
//     in paths: bolt:~/x.db names a file in a directory called "~".
//   - It does not accept Sentinel URLs; build that client with go-redis
//     (redis.NewFailoverClient) and pass it to redisstore.New.
//   - memory is a new, empty store at every Open: nothing is shared or kept.
package storeurl
