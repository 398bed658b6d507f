// Package kafka delivers events to a Kafka topic with franz-go: any Kafka
// cluster (the Kafka extension action) and the Kafka endpoint of Event Hubs
// (SASL PLAIN as "$ConnectionString"). The producer is idempotent, the
// record key is the resource id (so one resource's events stay ordered in
// one partition) and the event id travels in a record header.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"sluice/internal/sink"
)

// Record headers set on every record.
const (
	HeaderEventID     = "sluice-event-id"
	HeaderEventSource = "sluice-event-source"
)

// SASL mechanisms.
const (
	MechanismPlain     = "PLAIN"
	MechanismSCRAM256  = "SCRAM-SHA-256"
	MechanismSCRAM512  = "SCRAM-SHA-512"
	DefaultMaxMessage  = 1 << 20
	defaultDialTimeout = 10 * time.Second
)

// Options configure a Kafka sink.
type Options struct {
	Brokers []string
	Topic   string
	// Mechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	User      string
	Password  string
	// TLS enables TLS when non-nil.
	TLS *tls.Config
	// MaxMessageBytes bounds one record (default 1 MB).
	MaxMessageBytes int
	// ClientID names the producer to the brokers.
	ClientID string
}

// Sink is a Kafka destination.
type Sink struct {
	opts   Options
	client *kgo.Client
}

// New validates the options; Connect opens the client.
func New(opts Options) (*Sink, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if strings.TrimSpace(opts.Topic) == "" {
		return nil, errors.New("kafka: no topic")
	}
	switch strings.ToUpper(opts.Mechanism) {
	case "", MechanismPlain, MechanismSCRAM256, MechanismSCRAM512:
	default:
		return nil, fmt.Errorf("kafka: unsupported SASL mechanism %q", opts.Mechanism)
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessage
	}
	if opts.ClientID == "" {
		opts.ClientID = "sluice"
	}
	return &Sink{opts: opts}, nil
}

func (s *Sink) mechanism() sasl.Mechanism {
	switch strings.ToUpper(s.opts.Mechanism) {
	case MechanismPlain:
		return plain.Auth{User: s.opts.User, Pass: s.opts.Password}.AsMechanism()
	case MechanismSCRAM256:
		return scram.Auth{User: s.opts.User, Pass: s.opts.Password}.AsSha256Mechanism()
	case MechanismSCRAM512:
		return scram.Auth{User: s.opts.User, Pass: s.opts.Password}.AsSha512Mechanism()
	}
	return nil
}

// Connect opens the producer and checks that the brokers accept our
// credentials, so a wrong password surfaces as a permanent error at once.
func (s *Sink) Connect(ctx context.Context) error {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.opts.Brokers...),
		kgo.DefaultProduceTopic(s.opts.Topic),
		kgo.ClientID(s.opts.ClientID),
		kgo.ProducerBatchMaxBytes(int32(max(s.opts.MaxMessageBytes, 1024))),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DialTimeout(defaultDialTimeout),
		kgo.RecordDeliveryTimeout(time.Minute),
		kgo.RecordRetries(3),
	}
	if m := s.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	if s.opts.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(s.opts.TLS.Clone()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return sink.Permanent(s.redact(fmt.Errorf("kafka client: %w", err)))
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		if s.mechanism() != nil && closedDuringAuth(err) && s.reachable(ctx) {
			return sink.Permanent(fmt.Errorf("kafka brokers %s closed the connection during SASL %s authentication: the user or password (connection string) was refused",
				strings.Join(s.opts.Brokers, ","), strings.ToUpper(s.opts.Mechanism)))
		}
		return s.classify(fmt.Errorf("kafka brokers %s: %w", strings.Join(s.opts.Brokers, ","), err))
	}
	s.client = cl
	return nil
}

// WriteBatch produces the batch and waits for every acknowledgement. Failed
// records are named so only they are retried.
func (s *Sink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	if s.client == nil {
		return sink.Retryable(errors.New("kafka sink is not connected"))
	}
	// Oversized events fail alone (permanently); the others are produced.
	var recs []*kgo.Record
	var index []int // recs[j] is batch[index[j]]
	var tooLarge []int
	for i, m := range batch {
		if len(m.Body) > s.opts.MaxMessageBytes {
			tooLarge = append(tooLarge, i)
			continue
		}
		recs = append(recs, &kgo.Record{Key: []byte(m.ResourceID), Value: m.Body, Headers: []kgo.RecordHeader{
			{Key: HeaderEventID, Value: []byte(m.EventID)}, {Key: HeaderEventSource, Value: []byte(m.Source)}}})
		index = append(index, i)
	}
	var failed []int
	var first error
	retryable := true
	if len(recs) > 0 {
		for j, r := range s.client.ProduceSync(ctx, recs...) {
			if r.Err == nil {
				continue
			}
			failed = append(failed, index[j])
			if first == nil {
				first = r.Err
			}
			if e := s.classify(r.Err); !e.Retryable {
				retryable = false
			}
		}
	}
	if len(tooLarge) > 0 {
		tooLargeErr := fmt.Errorf("event larger than the topic's limit of %d bytes", s.opts.MaxMessageBytes)
		if first == nil {
			return &sink.Error{Failed: tooLarge, Err: tooLargeErr}
		}
		// One error carries one verdict: with retryable failures besides,
		// the oversized events wait for the next attempt, where they fail
		// permanently on their own.
		failed = append(failed, tooLarge...)
		slices.Sort(failed)
	}
	if first == nil {
		return nil
	}
	return &sink.Error{Retryable: retryable, Failed: failed, Err: s.redact(fmt.Errorf("produce to %s: %w", s.opts.Topic, first))}
}

// classify decides whether a Kafka error is worth retrying.
func (s *Sink) classify(err error) *sink.Error {
	red := s.redact(err)
	var ke *kerr.Error
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.MessageTooLarge),
		errors.Is(err, kerr.RecordListTooLarge), errors.Is(err, kerr.InvalidTopicException),
		errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return sink.Permanent(red)
	case errors.As(err, &ke):
		if ke.Retriable {
			return sink.Retryable(red)
		}
		return sink.Permanent(red)
	}
	return sink.Retryable(red)
}

// closedDuringAuth reports errors of a connection the broker dropped, which
// is how some brokers answer refused SASL credentials.
func closedDuringAuth(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// reachable tells whether a broker accepts TCP connections at all, to tell
// refused credentials from a network failure.
func (s *Sink) reachable(ctx context.Context) bool {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", s.opts.Brokers[0])
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *Sink) redact(err error) error { return sink.Redact(err, s.opts.Password) }

// Close flushes nothing (WriteBatch waits for acknowledgements) and closes
// the client.
func (s *Sink) Close() error {
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	return nil
}
