package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The binary under test, built once by TestMain.
var binary string

// wait bounds every blocking step of these tests: generous, for a loaded
// two-core machine. No test asserts on how long anything takes.
const wait = 2 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "sluice-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "sluice")
		// The go command that runs the tests is on PATH (go test puts its
		// GOROOT/bin first).
		cmd := exec.Command("go", "build", "-o", binary, ".")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build sluice:", err)
			return 1
		}
		return m.Run()
	}())
}

// syncBuffer collects a process's output safely.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running `sluice serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	data   string
	stderr *syncBuffer
	stdout *syncBuffer
	exited chan struct{}
	err    error // of Wait, valid after exited is closed

	readyLines <-chan string

	URL    string
	CA     string
	Client *http.Client
}

var readyRe = regexp.MustCompile(`^Sluice is ready at (https://\S+) \(CA certificate: (.+)\)$`)

// start runs `sluice serve --data data --addr 127.0.0.1:0 args...` and
// waits for its ready line.
func start(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	p := startNoWait(t, data, args...)
	p.waitReady()
	return p
}

func startNoWait(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	full := append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, args...)
	p := &proc{t: t, data: data, stderr: &syncBuffer{}, stdout: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, full...)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	p.readyLines = lines
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("sluice %v stderr:\n%s", full, p.stderr.String())
		}
	})
	return p
}

func (p *proc) waitReady() {
	p.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.readyLines:
			if !ok {
				<-p.exited
				p.t.Fatalf("sluice exited before it was ready (%v); stderr:\n%s", p.err, p.stderr.String())
			}
			m := readyRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			p.URL, p.CA = m[1], m[2]
			p.Client = clientTrusting(p.t, p.CA)
			return
		case <-timer.C:
			p.t.Fatalf("no ready line after %v; stdout:\n%s\nstderr:\n%s", wait, p.stdout.String(), p.stderr.String())
		}
	}
}

// clientTrusting returns an HTTPS client whose only root is the CA file.
func clientTrusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{
		Timeout:   wait,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
	}
}

// signal sends sig and waits for the process to exit; it returns the exit
// code.
func (p *proc) signal(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
	return p.waitExit()
}

func (p *proc) waitExit() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(wait):
		p.t.Fatalf("sluice did not exit; stderr:\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop sends SIGTERM and checks for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if code := p.signal(syscall.SIGTERM); code != 0 {
		p.t.Fatalf("exit code after SIGTERM = %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		p.t.Errorf("log does not say it stopped:\n%s", p.stderr.String())
	}
}

// waitLog polls the log until it contains s.
func (p *proc) waitLog(s string) {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			p.t.Fatalf("log never said %q:\n%s", s, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends a request and returns the status and body.
func (p *proc) do(method, path, token, body string) (int, []byte) {
	p.t.Helper()
	status, data, err := p.try(method, path, token, body)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, data
}

func (p *proc) try(method, path, token, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// run runs the binary to completion and returns its exit code and output.
func runSluice(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run sluice %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func tokenFor(t *testing.T, data string, args ...string) string {
	t.Helper()
	code, out, errOut := runSluice(t, append([]string{"token", "--data", data}, args...)...)
	if code != 0 {
		t.Fatalf("sluice token: exit %d: %s", code, errOut)
	}
	tok := strings.TrimSpace(out)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("sluice token printed %q, not a JWT", out)
	}
	return tok
}

const (
	subID     = "0b0c6f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
	apiSubs   = "?api-version=2022-12-01"
	apiRG     = "?api-version=2021-04-01"
	apiGroups = "?api-version=2021-04-01"
)

func (p *proc) putSubscription(token string) {
	p.t.Helper()
	status, body := p.do("PUT", "/subscriptions/"+subID+apiSubs, token, `{"displayName":"Test subscription"}`)
	if status != http.StatusCreated && status != http.StatusOK {
		p.t.Fatalf("PUT subscription: %d %s", status, body)
	}
}

func rgPath(name string) string {
	return "/subscriptions/" + subID + "/resourceGroups/" + name + apiRG
}

func subscriptionIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var v struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode subscriptions %s: %v", body, err)
	}
	var out []string
	for _, s := range v.Value {
		out = append(out, s.SubscriptionID)
	}
	return out
}

func TestServe_ready_health_and_token(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	if want := filepath.Join(data, "tls", "ca.pem"); p.CA != want {
		t.Errorf("ready line names CA %q, want %q", p.CA, want)
	}
	if !strings.HasPrefix(p.URL, "https://127.0.0.1:") {
		t.Errorf("ready line URL %q", p.URL)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := p.do("GET", path, "", ""); status != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, status, body)
		}
	}
	// A client that does not trust the CA is refused.
	plain := &http.Client{Timeout: wait, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := plain.Get(p.URL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a client without the CA connected")
	}

	status, body := p.do("GET", "/subscriptions"+apiSubs, "", "")
	if status != http.StatusUnauthorized {
		t.Errorf("GET /subscriptions without a token = %d %s", status, body)
	}
	tok := tokenFor(t, data)
	status, body = p.do("GET", "/subscriptions"+apiSubs, tok, "")
	if status != http.StatusOK {
		t.Fatalf("GET /subscriptions = %d %s", status, body)
	}
	if ids := subscriptionIDs(t, body); len(ids) != 0 {
		t.Errorf("subscriptions of a fresh server: %v", ids)
	}
	p.stop()
}

func TestServe_restart_keeps_state(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	ca1, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	cert1 := serverCert(t, p)
	boot1, err := os.ReadFile(filepath.Join(data, "bootstrap.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenFor(t, data)
	p.putSubscription(tok)
	if status, body := p.do("PUT", rgPath("kept"), tok, `{"location":"westeurope","tags":{"a":"b"}}`); status != http.StatusCreated {
		t.Fatalf("PUT resource group = %d %s", status, body)
	}
	p.stop()

	p = start(t, data)
	ca2, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca1, ca2) {
		t.Error("CA certificate changed across a restart")
	}
	if !bytes.Equal(cert1, serverCert(t, p)) {
		t.Error("server certificate changed across a restart")
	}
	boot2, err := os.ReadFile(filepath.Join(data, "bootstrap.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(boot1, boot2) {
		t.Errorf("bootstrap.json changed across a restart:\n%s\n%s", boot1, boot2)
	}
	// The token minted before the restart is still accepted.
	status, body := p.do("GET", rgPath("kept"), tok, "")
	if status != http.StatusOK {
		t.Fatalf("GET resource group after restart = %d %s", status, body)
	}
	var rg struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(body, &rg); err != nil || rg.Location != "westeurope" || rg.Tags["a"] != "b" {
		t.Errorf("resource group after restart = %s (%v)", body, err)
	}
	status, body = p.do("GET", "/subscriptions"+apiSubs, tok, "")
	if ids := subscriptionIDs(t, body); status != http.StatusOK || len(ids) != 1 || ids[0] != subID {
		t.Errorf("subscriptions after restart = %d %s", status, body)
	}
	p.stop() // waits for the whole log
	if strings.Contains(p.stderr.String(), "created the default tenant") {
		t.Error("the second start bootstrapped again")
	}
}

func serverCert(t *testing.T, p *proc) []byte {
	t.Helper()
	resp, err := p.Client.Get(p.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("no peer certificate")
	}
	return resp.TLS.PeerCertificates[0].Raw
}

func TestServe_demo_seeds_once(t *testing.T) {
	data := t.TempDir()
	p := start(t, data, "--demo")
	p.waitLog("seeded the demo estate")
	tok := tokenFor(t, data)
	count := func() int {
		t.Helper()
		status, body := p.do("GET", "/subscriptions"+apiSubs, tok, "")
		if status != http.StatusOK {
			t.Fatalf("GET /subscriptions = %d %s", status, body)
		}
		return len(subscriptionIDs(t, body))
	}
	if n := count(); n != 3 {
		t.Errorf("demo subscriptions = %d, want 3", n)
	}
	p.stop()

	p = start(t, data, "--demo")
	p.waitLog("demo estate already seeded")
	if n := count(); n != 3 {
		t.Errorf("demo subscriptions after restart = %d, want 3", n)
	}
	p.stop() // waits for the whole log
	if log := p.stderr.String(); strings.Contains(log, "seeded the demo estate") {
		t.Errorf("second start seeded again:\n%s", log)
	}
}

// TestServe_crash_keeps_acknowledged_writes kills the server with SIGKILL
// while writers are busy: every write acknowledged before the kill must be
// there after a restart.
func TestServe_crash_keeps_acknowledged_writes(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	tok := tokenFor(t, data)
	p.putSubscription(tok)

	const writers = 6
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	enough := make(chan struct{})
	var enoughOnce sync.Once
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("crash-%d-%d", w, i)
				status, _, err := p.try("PUT", rgPath(name), tok, `{"location":"westeurope"}`)
				if err != nil {
					return // the server is gone
				}
				if status/100 == 2 {
					mu.Lock()
					acked = append(acked, name)
					if len(acked) >= 200 {
						enoughOnce.Do(func() { close(enough) })
					}
					mu.Unlock()
				} else if status != 0 {
					t.Errorf("PUT %s = %d", name, status)
					return
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(wait):
		t.Fatal("writers made no progress")
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitExit()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged before SIGKILL", len(acked))

	p = start(t, data)
	if status, body := p.do("GET", "/readyz", "", ""); status != http.StatusOK {
		t.Fatalf("readyz after crash = %d %s", status, body)
	}
	missing := 0
	for _, name := range acked {
		if status, body := p.do("GET", rgPath(name), tok, ""); status != http.StatusOK {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged resource group %s after restart: %d %s", name, status, body)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost", missing, len(acked))
	}
	// The store still takes writes.
	if status, body := p.do("PUT", rgPath("after-crash"), tok, `{"location":"westeurope"}`); status != http.StatusCreated {
		t.Errorf("PUT after crash = %d %s", status, body)
	}
	p.stop()
}

// slowRequest opens a TLS connection and sends a PUT whose body it holds
// back; finish sends the rest and returns the response status.
func slowRequest(t *testing.T, p *proc, tok string) (finish func() (int, error)) {
	t.Helper()
	tr := p.Client.Transport.(*http.Transport)
	host := strings.TrimPrefix(p.URL, "https://")
	conn, err := tls.Dial("tcp", host, tr.TLSClientConfig.Clone())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `{"location":"westeurope","tags":{"slow":"yes"}}`
	head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		rgPath("slow"), host, tok, len(body))
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	return func() (int, error) {
		if _, err := io.WriteString(conn, body[10:]); err != nil {
			return 0, err
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServe_graceful_shutdown_finishes_in_flight_request holds a request
// open (its body half sent) across SIGTERM: the server stops accepting but
// answers it, then exits 0.
func TestServe_graceful_shutdown_finishes_in_flight_request(t *testing.T) {
	data := t.TempDir()
	cfg := writeConfig(t, "shutdownTimeout: 2m\n")
	p := start(t, data, "--config", cfg)
	tok := tokenFor(t, data)
	p.putSubscription(tok)
	finish := slowRequest(t, p, tok)
	time.Sleep(100 * time.Millisecond) // let the handler start reading; the test holds either way
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog("shutting down")
	// New connections are refused once shutdown began.
	deadline := time.Now().Add(wait)
	for {
		_, _, err := p.try("GET", "/healthz", "", "")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting new requests during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-p.exited:
		t.Fatalf("exited before the in-flight request finished:\n%s", p.stderr.String())
	default:
	}
	status, err := finish()
	if err != nil {
		t.Fatalf("in-flight request was cut: %v", err)
	}
	if status != http.StatusCreated {
		t.Errorf("in-flight PUT = %d, want 201", status)
	}
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("log does not say it stopped:\n%s", p.stderr.String())
	}
	// The write made during shutdown is durable.
	p = start(t, data)
	if status, body := p.do("GET", rgPath("slow"), tok, ""); status != http.StatusOK {
		t.Errorf("GET the resource group written during shutdown = %d %s", status, body)
	}
	p.stop()
}

// TestServe_second_signal_exits_at_once sends SIGINT while a shutdown waits
// for an in-flight request.
func TestServe_second_signal_exits_at_once(t *testing.T) {
	data := t.TempDir()
	cfg := writeConfig(t, "shutdownTimeout: 10m\n")
	p := start(t, data, "--config", cfg)
	tok := tokenFor(t, data)
	p.putSubscription(tok)
	slowRequest(t, p, tok)
	time.Sleep(100 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog("shutting down")
	select {
	case <-p.exited:
		t.Fatalf("exited while a request was in flight:\n%s", p.stderr.String())
	default:
	}
	if code := p.signal(syscall.SIGINT); code != 1 {
		t.Errorf("exit code after a second signal = %d, want 1", code)
	}
	if !strings.Contains(p.stderr.String(), "second signal") {
		t.Errorf("log does not mention the second signal:\n%s", p.stderr.String())
	}
	// The store survives the abrupt exit.
	p = start(t, data)
	if status, body := p.do("GET", "/readyz", "", ""); status != http.StatusOK {
		t.Errorf("readyz = %d %s", status, body)
	}
	p.stop()
}

func TestServe_sigint_stops_cleanly(t *testing.T) {
	p := start(t, t.TempDir())
	if code := p.signal(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code after SIGINT = %d; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("log does not say it stopped:\n%s", p.stderr.String())
	}
}

func TestServe_log_format_json(t *testing.T) {
	data := t.TempDir()
	p := start(t, data, "--log-format", "json")
	if code := p.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	checkJSONLog(t, p.stderr.String(), "stopped")
}

func checkJSONLog(t *testing.T, log, wantMsg string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	var msgs []string
	for _, line := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		msg, _ := v["msg"].(string)
		msgs = append(msgs, msg)
		if _, ok := v["level"]; !ok {
			t.Errorf("log line without level: %q", line)
		}
	}
	found := false
	for _, m := range msgs {
		found = found || m == wantMsg
	}
	if !found {
		t.Errorf("no %q in JSON log messages %q", wantMsg, msgs)
	}
}

// TestServe_flag_overrides_config: the file asks for JSON logs, the demo
// and an address; flags override the format and the address, the demo
// setting of the file stays.
func TestServe_flag_overrides_config(t *testing.T) {
	data := t.TempDir()
	cfg := writeConfig(t, "logFormat: json\ndemo: true\naddr: 127.0.0.1:1\n")
	p := start(t, data, "--config", cfg, "--log-format", "text")
	if strings.HasSuffix(p.URL, ":1") {
		t.Errorf("served on the file's address %s, not the flag's", p.URL)
	}
	p.stop()
	log := p.stderr.String()
	if strings.HasPrefix(strings.TrimSpace(log), "{") {
		t.Errorf("log is JSON despite --log-format text:\n%s", log)
	}
	if !strings.Contains(log, "seeded the demo estate") {
		t.Errorf("the file's demo: true was not applied:\n%s", log)
	}

	// Without the flag, the file's format applies.
	p = start(t, data, "--config", cfg)
	p.signal(syscall.SIGTERM)
	checkJSONLog(t, p.stderr.String(), "stopped")
}

func TestCommand_errors(t *testing.T) {
	empty := t.TempDir()
	badKey := writeConfig(t, "addr: 127.0.0.1:0\nbogusKey: 1\n")
	badValue := writeConfig(t, "logLevel: loud\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr []string
	}{
		{"no_command", nil, 2, []string{"Usage:"}},
		{"unknown_command", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`, "Usage:"}},
		{"config_unknown_key", []string{"serve", "--data", empty, "--config", badKey}, 1, []string{"bogusKey", badKey}},
		{"config_bad_value", []string{"serve", "--data", empty, "--config", badValue}, 1, []string{"logLevel", "loud"}},
		{"config_missing_file", []string{"serve", "--data", empty, "--config", filepath.Join(empty, "nope.yaml")}, 1, []string{"read config"}},
		{"bad_addr", []string{"serve", "--data", empty, "--addr", "nonsense"}, 1, []string{"addr", "nonsense"}},
		{"bad_port", []string{"serve", "--data", empty, "--addr", "127.0.0.1:99999"}, 1, []string{"127.0.0.1:99999"}},
		{"bad_log_format", []string{"serve", "--data", empty, "--log-format", "xml"}, 1, []string{"logFormat", "xml"}},
		{"unknown_flag", []string{"serve", "--bogus"}, 1, []string{"bogus"}},
		{"serve_extra_argument", []string{"serve", "--data", empty, "extra"}, 1, []string{`unexpected argument "extra"`}},
		{"token_negative_ttl", []string{"token", "--data", empty, "--ttl", "-1h"}, 1, []string{"--ttl"}},
		{"token_zero_ttl", []string{"token", "--data", empty, "--ttl", "0s"}, 1, []string{"--ttl"}},
		{"token_huge_ttl", []string{"token", "--data", empty, "--ttl", "9000h"}, 1, []string{"--ttl"}},
		{"token_without_bootstrap", []string{"token", "--data", t.TempDir()}, 1, []string{"bootstrap", "sluice serve"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runSluice(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.inStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestCommand_help_and_version(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"serve", "-h"}, {"token", "-h"}, {"version"}} {
		code, stdout, stderr := runSluice(t, args...)
		if code != 0 {
			t.Errorf("sluice %v: exit %d; stderr:\n%s", args, code, stderr)
		}
		if stdout+stderr == "" {
			t.Errorf("sluice %v printed nothing", args)
		}
	}
}

// TestToken_flags: a token for another principal is valid (401 would mean
// it is not) but that principal has no role (403).
func TestToken_flags(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	admin := tokenFor(t, data, "--ttl", "10m")
	if status, body := p.do("GET", "/providers/Microsoft.Management/managementGroups/x"+apiGroups, admin, ""); status != http.StatusNotFound {
		t.Errorf("admin GET missing group = %d %s", status, body)
	}
	// A principal the server does not know gets no token.
	if code, _, errOut := runSluice(t, "token", "--data", data, "--object-id", "11111111-2222-4333-8444-555555555555"); code == 0 ||
		!strings.Contains(errOut, "not registered") {
		t.Errorf("token for an unknown principal: exit %d: %s", code, errOut)
	}
	// A registered service principal without roles gets one, and 403.
	if status, body := p.do("PUT", "/providers/Sluice.Identity/servicePrincipals/11111111-2222-4333-8444-555555555555?api-version=2024-01-01",
		admin, `{"properties":{"displayName":"ci"}}`); status != http.StatusCreated {
		t.Fatalf("register a service principal: %d %s", status, body)
	}
	other := tokenFor(t, data, "--object-id", "11111111-2222-4333-8444-555555555555")
	status, body := p.do("PUT", "/providers/Microsoft.Management/managementGroups/g1"+apiGroups, other, `{"properties":{"displayName":"G"}}`)
	if status != http.StatusForbidden {
		t.Errorf("PUT group with a principal without roles = %d %s", status, body)
	}
	p.stop()
}

// TestServe_prints_admin_password_once: the first start prints the
// administrator's portal password on standard output (never in the log);
// a restart prints none.
func TestServe_prints_admin_password_once(t *testing.T) {
	data := t.TempDir()
	pwRe := regexp.MustCompile(`user "admin", password (\S+)`)
	p := start(t, data)
	if code := p.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	m := pwRe.FindStringSubmatch(p.stdout.String())
	if m == nil || len(m[1]) < 20 {
		t.Fatalf("no administrator password on stdout:\n%s", p.stdout.String())
	}
	if strings.Contains(p.stderr.String(), m[1]) {
		t.Fatal("the password is in the log")
	}
	p2 := start(t, data)
	if code := p2.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	if pwRe.MatchString(p2.stdout.String()) {
		t.Fatalf("a restart printed a password again:\n%s", p2.stdout.String())
	}
}
