package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sluice is one run of the server binary under test.
type sluice struct {
	// args are extra serve flags (e.g. --cpuprofile); env extra
	// environment variables (e.g. GOGC).
	args, env           []string
	binary, dir, config string
	addr                string
	cmd                 *exec.Cmd
	exited              chan struct{}
	client              *http.Client
	token               string

	mu      sync.Mutex
	peakRSS int64 // bytes, over every process started
	// samples are the anonymous RSS readings, every 100 ms.
	samples []rssSample
	// cpuDone is the CPU time of processes that exited; cpuLast the last
	// sample of the running one.
	cpuDone, cpuLast time.Duration
	log              bytes.Buffer
}

func newSluice(binary, dir, caBundle string) (*sluice, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	cfg := fmt.Sprintf(`data: %s
addr: %s
logLevel: warn
store:
  synchronous: NORMAL
export:
  caBundle: %s
  workers: 32
  batchSize: 500
`, data, addr, caBundle)
	path := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return &sluice{binary: binary, dir: data, config: path, addr: addr}, nil
}

// start runs the server and waits for its ready line.
func (s *sluice) start() error {
	s.cmd = exec.Command(s.binary, append([]string{"serve", "--config", s.config}, s.args...)...)
	s.cmd.Env = append(os.Environ(), s.env...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.log}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start sluice: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.cmd.Wait()
		s.mu.Lock()
		s.cpuDone += s.cpuLast
		s.cpuLast = 0
		s.mu.Unlock()
		close(s.exited)
	}()
	go s.sampleMemory(s.cmd.Process.Pid, s.exited)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "is ready at") {
				ready <- nil
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- errors.New("sluice exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("%w: %s", err, s.logTail())
		}
	case <-time.After(2 * time.Minute):
		return errors.New("sluice was not ready within 2 minutes")
	}
	if s.client == nil {
		pem, err := os.ReadFile(filepath.Join(s.dir, "tls", "ca.pem"))
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		s.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}}
		tok, err := exec.Command(s.binary, "token", "--data", s.dir, "--ttl", "12h").Output()
		if err != nil {
			return fmt.Errorf("sluice token: %w", err)
		}
		s.token = strings.TrimSpace(string(tok))
	}
	return nil
}

// kill ends the server with SIGKILL (a crash).
func (s *sluice) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop ends the server with SIGTERM (a clean shutdown).
func (s *sluice) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// sampleMemory records the peak resident set size and the CPU time of a
// process.
func (s *sluice) sampleMemory(pid int, done <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		rss, cpu := readRSS(pid), readCPU(pid)
		s.mu.Lock()
		s.peakRSS = max(s.peakRSS, rss)
		if rss > 0 {
			s.samples = append(s.samples, rssSample{at: time.Now(), rss: rss})
		}
		select {
		case <-done: // exited: cpuLast is already counted
		default:
			s.cpuLast = max(s.cpuLast, cpu)
		}
		s.mu.Unlock()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// rss returns the current resident set size of the server.
func (s *sluice) rss() int64 { return readRSS(s.cmd.Process.Pid) }

func (s *sluice) fileRSS() int64 { return readFileRSS(s.cmd.Process.Pid) }

// cpu returns the user and system CPU time the server processes used so
// far (sampled every 100 ms while running).
func (s *sluice) cpu() time.Duration {
	cur := readCPU(s.cmd.Process.Pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
		return s.cpuDone
	default:
		return s.cpuDone + max(s.cpuLast, cur)
	}
}

// readCPU returns a process's user plus system time from /proc/<pid>/stat.
func readCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: fields count after ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// Clock ticks: 100 per second on Linux (USER_HZ).
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (s *sluice) peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

func (s *sluice) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.log.Bytes()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// readRSS returns the server's anonymous resident memory (heap, stacks,
// SQLite's page caches): the pages of the database file its readers map
// (mmap) are the operating system's file cache and are counted apart (see
// readFileRSS).
func readRSS(pid int) int64 { return statusKB(pid, "RssAnon:") }

// readFileRSS returns the server's resident file-backed pages (the mapped
// database and the binary).
func readFileRSS(pid int) int64 { return statusKB(pid, "RssFile:") }

func statusKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// do sends an authenticated request and returns the status and body.
func (s *sluice) do(method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, "https://"+s.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type rssSample struct {
	at  time.Time
	rss int64
}

// rssBetween returns the first and the largest reading between from and to.
func (s *sluice) rssBetween(from, to time.Time) (first, peak int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.samples {
		if x.at.Before(from) || x.at.After(to) {
			continue
		}
		if first == 0 {
			first = x.rss
		}
		peak = max(peak, x.rss)
	}
	return first, peak
}

// rssAt returns the last reading at or before t.
func (s *sluice) rssAt(t time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v int64
	for _, x := range s.samples {
		if x.at.After(t) {
			break
		}
		v = x.rss
	}
	return v
}
