package load

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// MaybeServe serves a stack and exits when this process was started by Start; it
// returns at once otherwise. Call it first thing in main.
func MaybeServe() {
	stack := os.Getenv(envServe)
	if stack == "" {
		return
	}
	stopProfile := startProfile(stack)
	err := serve(stack)
	stopProfile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "load server %s: %v\n", stack, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// envProfile, when set, makes each child server write a CPU profile of its whole life
// to the file named by its value followed by the stack's name and .pprof.
const envProfile = "GATEHOUSE_BENCH_CPUPROFILE"

func startProfile(stack string) (stop func()) {
	prefix := os.Getenv(envProfile)
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(prefix + strings.ReplaceAll(stack, "+", "-") + ".pprof")
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// serve listens on a free loopback port, writes the address to stdout, and serves
// until stdin closes. gatehouse verifies with the fixture's HS256 key on a bbolt store
// of its own, with the default options.
func serve(stack string) error {
	framework, mw, _ := strings.Cut(stack, "+")
	if mw == "" {
		mw = cases.Bare
	}
	var alg *fixture.Alg
	if mw == "gatehouse" {
		dir, err := os.MkdirTemp("", "gatehouse-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		s, err := boltstore.Open(dir+"/load.db", boltstore.WithPurgeInterval(0))
		if err != nil {
			return err
		}
		defer s.Close()
		key := fixture.HMACKey()
		a, err := fixture.NewAuth(s, key)
		if err != nil {
			return err
		}
		alg = &fixture.Alg{Name: "HS256", Key: key, PeerKey: []byte(fixture.Secret), Auth: a}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	switch framework {
	case "gin":
		e, err := cases.GinEngine(mw, alg, nil)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: e}
		go func() { errc <- srv.Serve(ln) }()
	case "fiber":
		app, err := cases.FiberApp(mw, alg, nil)
		if err != nil {
			return err
		}
		go func() { errc <- app.Listener(ln) }()
	default:
		return fmt.Errorf("unknown framework %q", framework)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin) //nolint:errcheck // EOF or an error both mean stop
		errc <- nil
	}()
	return <-errc
}
