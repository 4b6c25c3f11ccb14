package storeurl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "gatehouse")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// GATEHOUSE_STORE, say.
	store, err := storeurl.Open(context.Background(), "bolt:"+filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	auth, err := core.New(store)
	if err != nil {
		log.Fatal(err)
	}
	_ = auth

	// A mistyped setting is a configuration error, found before anything is opened.
	_, err = storeurl.Open(context.Background(), "bolt")
	fmt.Println(errors.Is(err, core.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// gatehouse: bad configuration: storeurl: unknown store "bolt": want bolt:PATH, redis://host:port/db, rediss://host:port/db, redis+cluster://host:port,host:port, postgres://host:port/database or memory
}

func ExampleParse() {
	loc, err := storeurl.Parse("redis://:s3cret@10.0.0.7:6379/2")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loc.Kind, loc.Addr, loc.DB)
	fmt.Println(loc)
	// Output:
	// redis 10.0.0.7:6379 2
	// redis://:xxxxx@10.0.0.7:6379/2
}
