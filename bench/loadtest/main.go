// Command loadtest is Sluice's end-to-end load harness: it builds and
// starts the server, registers a subscription and a few Logic App
// automations pointed at a loopback HTTPS receiver, ingests realistic
// assessments through the ingestion route, and measures ingested and
// delivered events per second, change-to-delivery latency, peak memory and
// events lost — with a receiver that is fast, slow, failing or down for a
// while, and optionally with the server killed mid-stream.
//
//	go run ./bench/loadtest -records 200000
//	go run ./bench/loadtest -records 50000 -rate 5000 -batch 50
//	go run ./bench/loadtest -action webhook -automations 1 -rate 5000 -batch 100 -duration 30s
//	go run ./bench/loadtest -receiver down -down-for 60s
//	go run ./bench/loadtest -kill
//	go run ./bench/loadtest -action webhook -records 200000
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"time"
)

type options struct {
	binary       string
	records      int
	resources    int
	duration     time.Duration
	batch        int
	rate         int
	clients      int
	automations  int
	receiver     string
	action       string
	delay        time.Duration
	failEvery    int64
	downFrom     time.Duration
	downFor      time.Duration
	kill         bool
	drainTimeout time.Duration
	keep         bool
	// serverProfile is passed to serve --cpuprofile.
	serverProfile string
	// gogc, when set, is the server's GOGC.
	gogc int
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "sluice binary to run (default: build ./cmd/sluice)")
	flag.IntVar(&o.records, "records", 100000, "assessments to ingest (each is one event per automation)")
	flag.IntVar(&o.resources, "resources", 0, "go round this many resources, flipping their status each pass (0: every record about a new resource)")
	flag.DurationVar(&o.duration, "duration", 0, "with -rate: ingest for this long (sets -records to rate × duration)")
	flag.IntVar(&o.batch, "batch", 1000, "NDJSON lines per ingestion request")
	flag.IntVar(&o.rate, "rate", 0, "target ingestion rate in records/s (0: as fast as possible)")
	flag.IntVar(&o.clients, "clients", 2, "concurrent ingestion clients")
	flag.IntVar(&o.automations, "automations", 4, "Logic App automations (one delivery queue each) taking every event")
	flag.StringVar(&o.receiver, "receiver", "fast", "receiver behaviour: fast, slow, failing or down")
	flag.StringVar(&o.action, "action", "logicapp", "action type: logicapp (one event per request) or webhook (NDJSON batches)")
	flag.DurationVar(&o.delay, "delay", 5*time.Millisecond, "per-request delay of a slow receiver")
	flag.Int64Var(&o.failEvery, "fail-every", 5, "a failing receiver answers 500 to every n-th request")
	flag.DurationVar(&o.downFrom, "down-from", 2*time.Second, "a down receiver goes down this long after the start")
	flag.DurationVar(&o.downFor, "down-for", 60*time.Second, "how long a down receiver stays down")
	flag.BoolVar(&o.kill, "kill", false, "SIGKILL the server halfway through ingestion, restart it and check nothing is lost")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 10*time.Minute, "how long to wait for every delivery")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	cpuProfile := flag.String("cpuprofile", "", "write the harness's own CPU profile to this file")
	flag.StringVar(&o.serverProfile, "server-cpuprofile", "", "have the server write its CPU profile to this file")
	flag.IntVar(&o.gogc, "gogc", 0, "run the server with this GOGC (garbage collector target percentage; 0: inherit)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.duration > 0 {
		if o.rate <= 0 {
			log.Fatal("-duration needs -rate")
		}
		o.records = int(float64(o.rate) * o.duration.Seconds())
	}
	res, err := run(o)
	if err != nil {
		log.Fatal(err)
	}
	res.print(os.Stdout, o)
	if res.lost > 0 {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(o options) (*result, error) {
	dir, err := os.MkdirTemp("", "sluice-load-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		log.Printf("keeping %s", dir)
	}
	if o.binary == "" {
		o.binary = filepath.Join(dir, "sluice")
		build := exec.Command("go", "build", "-o", o.binary, "./cmd/sluice")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build sluice: %w", err)
		}
	}
	mode := receiverMode{}
	switch o.receiver {
	case "fast":
	case "slow":
		mode.Delay = o.delay
	case "failing":
		mode.FailEvery = o.failEvery
	case "down":
		mode.DownFrom, mode.DownFor = o.downFrom, o.downFor
	default:
		return nil, fmt.Errorf("unknown -receiver %q", o.receiver)
	}
	if o.action != "logicapp" && o.action != "webhook" {
		return nil, fmt.Errorf("unknown -action %q", o.action)
	}
	rcv, err := startReceiver(dir, mode)
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	srv, err := newSluice(o.binary, dir, rcv.caFile)
	if err == nil && o.serverProfile != "" {
		srv.args = append(srv.args, "--cpuprofile", o.serverProfile)
	}
	if err == nil && o.gogc != 0 {
		srv.env = append(srv.env, fmt.Sprintf("GOGC=%d", o.gogc))
	}
	if err != nil {
		return nil, err
	}
	if err := srv.start(); err != nil {
		return nil, err
	}
	defer srv.stop()
	w := &workload{o: o, srv: srv, rcv: rcv}
	if err := w.setup(); err != nil {
		return nil, err
	}
	return w.run()
}
