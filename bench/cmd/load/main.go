// Command load measures loopback requests per second of Gin and Fiber with gatehouse's
// Require against the same framework bare: each server in a child process pinned to
// CPU 0 with GOMAXPROCS=1 (taskset), the client on CPU 1 keeping 32 keep-alive
// connections busy, bare and gatehouse back to back in each run. It prints the medians
// of req/s, of the server's CPU busy share and of requests per server CPU-second, and
// each gatehouse server's shares of its bare framework. `make bench` runs the same
// measurement among the others.
//
//	go run ./cmd/load [-runs 10] [-time 1s]
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/load"
)

func main() {
	load.MaybeServe()
	runs := flag.Int("runs", 10, "runs of each server")
	d := flag.Duration("time", time.Second, "measured time of one run")
	warm := flag.Duration("warm", 200*time.Millisecond, "unmeasured time before each run")
	flag.Parse()
	log.SetFlags(0)
	if !load.Pinning() {
		log.Print("load: no taskset or a single CPU: servers run with GOMAXPROCS=1, unpinned")
	}
	res, err := load.Compare(load.Stacks, *runs, *warm, *d)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("| server | req/s | share of bare | server CPU busy | req per server CPU-second | share of bare |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, st := range load.Stacks {
		share, cpuShare := "1", "1"
		if fw, _, ok := strings.Cut(st, "+"); ok {
			share = fmt.Sprintf("%.3f", load.Share(res[st], res[fw], load.Result.PerSecond))
			cpuShare = fmt.Sprintf("%.3f", load.Share(res[st], res[fw], load.Result.PerCPUSecond))
		}
		fmt.Printf("| %s | %.0f | %s | %.0f%% | %.0f | %s |\n", st, load.Median(res[st], load.Result.PerSecond), share,
			100*load.Median(res[st], load.Result.Busy), load.Median(res[st], load.Result.PerCPUSecond), cpuShare)
	}
	fmt.Println("\nmedians of the runs; each share is the median of the runs' ratios")
}
