module github.com/gatehouse-auth/gatehouse/cmd/gatehouse

go 1.26.0

require (
	github.com/gatehouse-auth/gatehouse/core v0.1.0
	github.com/gatehouse-auth/gatehouse/storage/boltstore v0.1.0
	github.com/gatehouse-auth/gatehouse/storage/pgstore v0.1.0
	github.com/gatehouse-auth/gatehouse/storage/redisstore v0.1.0
	github.com/gatehouse-auth/gatehouse/storage/storeurl v0.1.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.8 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace (
	github.com/gatehouse-auth/gatehouse/core => ../../core
	github.com/gatehouse-auth/gatehouse/storage/boltstore => ../../storage/boltstore
	github.com/gatehouse-auth/gatehouse/storage/pgstore => ../../storage/pgstore
	github.com/gatehouse-auth/gatehouse/storage/redisstore => ../../storage/redisstore
	github.com/gatehouse-auth/gatehouse/storage/storeurl => ../../storage/storeurl
)
