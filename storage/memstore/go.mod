module github.com/gatehouse-auth/gatehouse/storage/memstore

go 1.26.0

require github.com/gatehouse-auth/gatehouse/core v0.0.0

replace github.com/gatehouse-auth/gatehouse/core => ../../core
