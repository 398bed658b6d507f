// Package amqptest is an AMQP 1.0 server that behaves like an Azure Event
// Hub, for tests: SASL ANONYMOUS and PLAIN, claims-based security on $cbs
// that verifies shared access signatures (and JSON web tokens through a
// callback), $management READ for the hub and its partitions, sends to the
// hub (round-robin or by partition key, batches included) and to a
// partition, and receives from a consumer group's partition from an offset,
// sequence number or time with the x-opt-… annotations. The real
// azeventhubs clients (with UseDevelopmentEmulator=true, or over TLS) talk
// to it unchanged.
//
// It is a test helper: tests of any package may import it; the sluice
// binary must not.
package amqptest

import (
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Hub is the event hub's name (default "hub").
	Hub string
	// Partitions is the number of partitions (default 4).
	Partitions int
	// ConsumerGroups lists the consumer groups besides "$default".
	ConsumerGroups []string
	// KeyName and Key are a shared access policy with every right
	// (default "RootManageSharedAccessKey" and a fixed test key).
	KeyName, Key string
	// ExtraKeys are further policies, e.g. a listen-only one.
	ExtraKeys []Key
	// AcceptJWT, if set, accepts JSON web tokens on $cbs when it returns
	// nil; without it JWTs are refused.
	AcceptJWT func(token string) error
	// TLS, if set, serves TLS (amqps) instead of plain TCP.
	TLS *tls.Config
	// MaxMessageSize is the largest message (or batch) a link accepts
	// (default 1 MiB, like a Standard-tier hub).
	MaxMessageSize uint64
	// MaxFrameSize is the largest frame the server accepts (default 1 MiB).
	MaxFrameSize uint32
	// Retain bounds the events kept per partition (0: all); older ones are
	// dropped and the partition's beginning sequence number advances.
	Retain int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Default credentials.
const (
	DefaultKeyName = "RootManageSharedAccessKey"
	DefaultKey     = "c2x1aWNlLXRlc3Qta2V5LWZvci1ldmVudC1odWJz"
)

// Server is a running test Event Hub.
type Server struct {
	opts   Options
	keys   []Key
	groups map[string]bool
	hub    *hub
	ln     net.Listener
	now    func() time.Time

	deliveries atomic.Int64
	failSends  atomic.Pointer[[2]string]

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
	done   chan struct{}
}

// Start starts a server on a loopback port; it stops when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		tb.Fatalf("amqptest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Listen starts a server on addr.
func Listen(addr string, opts Options) (*Server, error) {
	if opts.Hub == "" {
		opts.Hub = "hub"
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 4
	}
	if opts.KeyName == "" {
		opts.KeyName = DefaultKeyName
	}
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.MaxMessageSize == 0 {
		opts.MaxMessageSize = 1 << 20
	}
	if opts.MaxFrameSize < 4096 {
		opts.MaxFrameSize = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &Server{opts: opts, ln: ln, now: opts.Now, conns: map[*conn]struct{}{}, done: make(chan struct{}),
		groups: map[string]bool{"$default": true},
		keys:   append([]Key{{Name: opts.KeyName, Value: opts.Key, Send: true, Listen: true}}, opts.ExtraKeys...)}
	for _, g := range opts.ConsumerGroups {
		s.groups[strings.ToLower(g)] = true
	}
	s.hub = newHub(opts.Hub, opts.Partitions, opts.Retain, opts.Now)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops the server at once, dropping every connection as a crash
// would, and waits for its goroutines. Events stay readable through the
// accessors.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Addr is the listening address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Hub is the event hub's name.
func (s *Server) Hub() string { return s.opts.Hub }

// ConnectionString is a connection string for the hub with the server's
// full-rights key, in the emulator form (plain AMQP, UseDevelopmentEmulator).
func (s *Server) ConnectionString() string {
	return s.ConnectionStringFor(s.opts.KeyName, s.opts.Key)
}

// ConnectionStringFor is ConnectionString with another key name and key.
func (s *Server) ConnectionStringFor(keyName, key string) string {
	return fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=%s;SharedAccessKey=%s;EntityPath=%s;UseDevelopmentEmulator=true",
		s.Addr(), keyName, key, s.opts.Hub)
}

// Audience is the URI a client authenticates for entity (e.g. the hub).
func (s *Server) Audience(entity string) string {
	scheme := "amqp"
	if s.opts.TLS != nil {
		scheme = "amqps"
	}
	return fmt.Sprintf("%s://%s/%s", scheme, s.Addr(), entity)
}

// PartitionIDs lists the partitions.
func (s *Server) PartitionIDs() []string { return s.hub.partitionIDs() }

// PartitionForKey tells which partition a partition key maps to.
func (s *Server) PartitionForKey(key string) string {
	return s.hub.parts[s.hub.partitionForKey(key)].id
}

// Messages returns the retained events of a partition in order.
func (s *Server) Messages(partitionID string) []Message {
	i := s.hub.partitionIndex(partitionID)
	if i < 0 {
		return nil
	}
	return s.hub.messages(i)
}

// AllMessages returns every retained event, by partition then sequence
// number.
func (s *Server) AllMessages() []Message {
	var out []Message
	for i := range s.hub.parts {
		out = append(out, s.hub.messages(i)...)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Partition != out[b].Partition {
			return s.hub.partitionIndex(out[a].Partition) < s.hub.partitionIndex(out[b].Partition)
		}
		return out[a].SequenceNumber < out[b].SequenceNumber
	})
	return out
}

// Count is the number of events ever enqueued (retained or not).
func (s *Server) Count() int64 {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	var n int64
	for _, p := range s.hub.parts {
		n += p.next
	}
	return n
}

// WaitCount waits until at least n events were enqueued or the timeout
// passes; it reports whether they were.
func (s *Server) WaitCount(n int64, timeout time.Duration) bool {
	ch := make(chan struct{}, 1)
	s.hub.subscribe(ch)
	defer s.hub.unsubscribe(ch)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for s.Count() < n {
		select {
		case <-ch:
		case <-deadline.C:
			return s.Count() >= n
		}
	}
	return true
}

// Deliveries is the number of AMQP messages accepted from producers: a
// batch of many events counts once.
func (s *Server) Deliveries() int64 { return s.deliveries.Load() }

// FailSends makes the hub reject every send with an AMQP error condition
// (e.g. "com.microsoft:server-busy") and description, until called with an
// empty condition.
func (s *Server) FailSends(condition, description string) {
	if condition == "" {
		s.failSends.Store(nil)
		return
	}
	s.failSends.Store(&[2]string{condition, description})
}

// Connections is the number of open client connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
