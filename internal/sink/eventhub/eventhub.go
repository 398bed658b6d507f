// Package eventhub delivers events to an Azure Event Hub over AMQP 1.0 with
// the official azeventhubs/v2 producer: one long-lived client per sink, one
// EventData per event (the event JSON as body, the event id as message id,
// content type application/json), packed into batches up to the hub's
// message size and sent to the partition the resource id hashes to (see
// Partition) so one resource's events stay ordered.
//
// The sink authenticates with a connection string (a shared access key or
// signature) or, for trusted-service delivery, with an
// azcore.TokenCredential. Errors are classified for the export engine:
// refused credentials, a missing hub, a forbidden send and an oversized
// event are permanent; network failures, timeouts and a busy service are
// retryable. Keys, signatures and tokens never appear in an error.
package eventhub

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"

	"sluice/internal/sink"
)

// ContentType is set on every event.
const ContentType = "application/json"

// Defaults.
const (
	DefaultConcurrency = 16
	DefaultTimeout     = time.Minute
	connectTimeout     = 30 * time.Second
)

// Options configure a sink. Set either ConnectionString, or Namespace,
// EventHub and Credential (identity mode).
type Options struct {
	// ConnectionString is the event hub's connection string.
	ConnectionString string

	// Namespace is the fully qualified namespace (host, or host:port) in
	// identity mode, e.g. "contoso.servicebus.windows.net".
	Namespace string
	// EventHub is the hub's name in identity mode.
	EventHub string
	// Credential authenticates in identity mode (isTrustedServiceEnabled).
	// The SDK asks it for the scope "https://eventhubs.azure.net//.default"
	// and sends the token to the hub's $cbs node as a JWT; identity mode
	// always uses TLS.
	Credential azcore.TokenCredential

	// TLS replaces the TLS configuration (e.g. to trust a private CA).
	// Connection strings with UseDevelopmentEmulator=true use plain AMQP.
	TLS *tls.Config
	// CustomEndpoint is a host:port to dial instead of the namespace (a
	// proxy, or a local target); authentication still names the namespace.
	CustomEndpoint string

	// MaxBatchBytes caps one batch (one AMQP message); 0 uses the hub's own
	// limit (1 MB on the Standard tier). A value above the hub's limit falls
	// back to the hub's.
	MaxBatchBytes uint64
	// Concurrency is how many batches of different resources may be in
	// flight at once (default 16: with a real hub each send waits a network
	// round trip). One resource's batches are always sent one after the
	// other.
	Concurrency int
	// Timeout bounds one WriteBatch (default one minute).
	Timeout time.Duration
	// Retry is the SDK's own retry policy within one call (default: 2
	// retries from 200 ms to 2 s); the export engine retries beyond it.
	Retry azeventhubs.RetryOptions
	// ApplicationID is added to the client's user agent.
	ApplicationID string
}

// Sink is an Event Hubs destination.
type Sink struct {
	opts     Options
	hub      string
	ns       string
	secrets  []string
	mu       sync.Mutex // guards client, partitions and maxBytes
	client   *azeventhubs.ProducerClient
	maxBytes uint64
	linkMax  uint64 // the hub's maximum message size, when known
	// partitions are the hub's partition ids, read at Connect.
	partitions []string
}

// New validates the options; Connect opens the client.
func New(opts Options) (*Sink, error) {
	s := &Sink{opts: opts, maxBytes: opts.MaxBatchBytes}
	switch {
	case opts.ConnectionString != "" && opts.Credential != nil:
		return nil, errors.New("event hub sink: set a connection string or a credential, not both")
	case opts.ConnectionString != "":
		cs, err := ParseConnectionString(opts.ConnectionString)
		if err != nil {
			return nil, fmt.Errorf("event hub sink: %w", err)
		}
		if cs.Kafka() {
			return nil, errors.New("event hub sink: the connection string asks for TransportType=Kafka; use the Kafka sink")
		}
		s.hub, s.ns = cs.EntityPath, cs.Namespace
		s.secrets = append(cs.Secrets(), opts.ConnectionString)
	case opts.Credential != nil:
		if strings.TrimSpace(opts.Namespace) == "" || strings.TrimSpace(opts.EventHub) == "" {
			return nil, errors.New("event hub sink: identity mode needs the namespace and the event hub name")
		}
		if !hubName.MatchString(opts.EventHub) {
			return nil, errors.New("event hub sink: invalid event hub name")
		}
		s.hub, s.ns = opts.EventHub, opts.Namespace
	default:
		return nil, errors.New("event hub sink: no connection string and no credential")
	}
	if s.opts.Concurrency <= 0 {
		s.opts.Concurrency = DefaultConcurrency
	}
	if s.opts.Timeout <= 0 {
		s.opts.Timeout = DefaultTimeout
	}
	if s.opts.Retry == (azeventhubs.RetryOptions{}) {
		s.opts.Retry = azeventhubs.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	}
	return s, nil
}

// Connect opens the producer and reads the hub's properties, so refused
// credentials or a missing hub surface at once as permanent errors.
func (s *Sink) Connect(ctx context.Context) error {
	co := &azeventhubs.ProducerClientOptions{ApplicationID: s.opts.ApplicationID, CustomEndpoint: s.opts.CustomEndpoint,
		RetryOptions: s.opts.Retry, TLSConfig: s.opts.TLS}
	if co.ApplicationID == "" {
		co.ApplicationID = "sluice"
	}
	var cl *azeventhubs.ProducerClient
	var err error
	if s.opts.Credential != nil {
		cl, err = azeventhubs.NewProducerClient(s.opts.Namespace, s.opts.EventHub, s.opts.Credential, co)
	} else {
		cl, err = azeventhubs.NewProducerClientFromConnectionString(s.opts.ConnectionString, "", co)
	}
	if err != nil {
		return sink.Permanent(s.redact(fmt.Errorf("event hub client: %w", err)))
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	props, err := cl.GetEventHubProperties(cctx, nil)
	if err != nil {
		_ = cl.Close(context.Background())
		return s.classify(err)
	}
	// Opening the send link now surfaces a forbidden send at once; asking
	// for an impossible batch size makes the SDK name the hub's limit.
	_, err = cl.NewEventDataBatch(cctx, &azeventhubs.EventDataBatchOptions{MaxBytes: 1 << 62})
	if m := linkLimit.FindStringSubmatch(fmt.Sprint(err)); m != nil {
		s.linkMax, _ = strconv.ParseUint(m[1], 10, 64)
	} else if err != nil {
		if se := s.classify(err); !se.Retryable {
			_ = cl.Close(context.Background())
			return se
		}
		// A transient failure: WriteBatch opens the link again.
	}
	s.mu.Lock()
	s.client = cl
	s.partitions = slices.Clone(props.PartitionIDs)
	s.mu.Unlock()
	return nil
}

func (s *Sink) producer() (*azeventhubs.ProducerClient, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client, s.partitions
}

// linkLimit reads the link's maximum message size from the SDK's error.
var linkLimit = regexp.MustCompile(`larger than the maximum size allowed by link \((\d+)\)`)

// WriteBatch delivers the batch. Events are grouped by partition (see
// Partition: one resource's events always go to the same partition) in
// their original order; each group is packed into as few batches as the
// size limit allows and sent in order, groups concurrently. Failed events
// are named so only they are retried; an event too large for any batch
// fails permanently while the others are delivered.
func (s *Sink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	cl, partitions := s.producer()
	if cl == nil {
		return sink.Retryable(errors.New("event hub sink is not connected"))
	}
	if len(batch) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()

	var order []string
	groups := map[string][]int{}
	for i, m := range batch {
		p := Partition(PartitionKey(m.ResourceID), partitions)
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], i)
	}

	var mu sync.Mutex
	failures := map[int]*sink.Error{}
	fail := func(idx []int, e *sink.Error) {
		mu.Lock()
		defer mu.Unlock()
		for _, i := range idx {
			failures[i] = e
		}
	}
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for _, p := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(p string, idx []int) {
			defer wg.Done()
			defer func() { <-sem }()
			s.sendGroup(ctx, cl, p, idx, batch, fail)
		}(p, groups[p])
	}
	wg.Wait()
	if len(failures) == 0 {
		return nil
	}
	return s.summarize(batch, failures)
}

// Partition returns the partition a resource's events go to: the FNV-1a
// hash of its partition key (see PartitionKey) modulo the hub's partitions,
// so that one resource's events stay in one partition, in order, while one
// AMQP message carries the events of every resource of its partition (with
// a partition key per message, every resource would be its own message).
// It returns "" (the hub spreads the events) for events without a resource
// or a hub whose partitions are unknown.
func Partition(key string, partitions []string) string {
	if key == "" || len(partitions) == 0 {
		return ""
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return partitions[h.Sum64()%uint64(len(partitions))]
}

// MaxPartitionKey is the longest partition key Event Hubs accepts.
const MaxPartitionKey = 128

// PartitionKey is the partition key of a resource's events: its id in lower
// case (ARM ids are case-insensitive, and one resource must map to one
// partition), or, for ids longer than Event Hubs allows, the hex SHA-256 of
// that.
func PartitionKey(resourceID string) string {
	k := strings.ToLower(resourceID)
	if len(k) <= MaxPartitionKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}

// sendGroup sends one partition's events in order, stopping at the first
// batch that fails (the rest of the group fails with it).
func (s *Sink) sendGroup(ctx context.Context, cl *azeventhubs.ProducerClient, partition string, idx []int, batch []sink.Message, fail func([]int, *sink.Error)) {
	var cur *azeventhubs.EventDataBatch
	var curIdx []int
	flush := func(rest []int) bool {
		if cur == nil || cur.NumEvents() == 0 {
			return true
		}
		if err := cl.SendEventDataBatch(ctx, cur, nil); err != nil {
			fail(append(curIdx, rest...), s.classify(err))
			return false
		}
		cur, curIdx = nil, nil
		return true
	}
	for j, i := range idx {
		m := batch[i]
		ed := &azeventhubs.EventData{Body: m.Body, ContentType: ptr(ContentType)}
		if m.EventID != "" {
			ed.MessageID = ptr(m.EventID)
		}
		for attempt := 0; ; attempt++ {
			if cur == nil {
				b, err := s.newBatch(ctx, cl, partition)
				if err != nil {
					fail(idx[j:], s.classify(err))
					return
				}
				cur = b
			}
			err := cur.AddEventData(ed, nil)
			if err == nil {
				curIdx = append(curIdx, i)
				break
			}
			if !errors.Is(err, azeventhubs.ErrEventDataTooLarge) {
				fail(append(curIdx, idx[j:]...), s.classify(err))
				return
			}
			if cur.NumEvents() == 0 || attempt > 0 {
				fail([]int{i}, sink.Permanent(s.tooLarge(m)))
				break
			}
			if !flush(idx[j:]) {
				return
			}
		}
	}
	flush(nil)
}

// newBatch starts a batch for a partition (none: the hub chooses), falling
// back to the hub's own limit when MaxBatchBytes exceeds it.
func (s *Sink) newBatch(ctx context.Context, cl *azeventhubs.ProducerClient, partition string) (*azeventhubs.EventDataBatch, error) {
	s.mu.Lock()
	maxBytes := s.maxBytes
	s.mu.Unlock()
	bo := &azeventhubs.EventDataBatchOptions{MaxBytes: maxBytes}
	if partition != "" {
		bo.PartitionID = ptr(partition)
	}
	b, err := cl.NewEventDataBatch(ctx, bo)
	if err != nil && maxBytes != 0 && strings.Contains(err.Error(), "larger than the maximum size allowed by link") {
		s.mu.Lock()
		s.maxBytes = 0
		s.mu.Unlock()
		bo.MaxBytes = 0
		b, err = cl.NewEventDataBatch(ctx, bo)
	}
	return b, err
}

func (s *Sink) tooLarge(m sink.Message) error {
	limit := "the event hub's maximum message size"
	if s.linkMax != 0 {
		limit = fmt.Sprintf("the event hub's maximum message size of %d bytes", s.linkMax)
	}
	s.mu.Lock()
	if s.maxBytes != 0 {
		limit = fmt.Sprintf("the configured batch limit of %d bytes", s.maxBytes)
	}
	s.mu.Unlock()
	return fmt.Errorf("event %s is %d bytes: too large for %s (event hub %s)", m.EventID, len(m.Body), limit, s.hub)
}

// summarize folds per-event failures into one error. If any failure is
// retryable the whole set is retried (an oversized event then fails alone
// on the next attempt), so nothing retryable is dead-lettered.
func (s *Sink) summarize(batch []sink.Message, failures map[int]*sink.Error) error {
	out := &sink.Error{}
	var first *sink.Error
	for i := range batch {
		e, ok := failures[i]
		if !ok {
			continue
		}
		out.Failed = append(out.Failed, i)
		if first == nil || (e.Retryable && !first.Retryable) {
			first = e
		}
		if e.Retryable {
			out.Retryable = true
		}
		out.RetryAfter = max(out.RetryAfter, e.RetryAfter)
	}
	out.Err = first.Err
	if n := len(out.Failed); n > 1 {
		out.Err = fmt.Errorf("%d of %d events failed: %w", n, len(batch), first.Err)
	}
	return out
}

// permanentConditions are AMQP error conditions no retry can cure.
var permanentConditions = map[amqp.ErrCond]string{
	amqp.ErrCondUnauthorizedAccess:        "the event hub refused the credentials (wrong key or policy, expired signature or token, or no Send right)",
	amqp.ErrCondNotFound:                  "the event hub does not exist",
	amqp.ErrCondNotAllowed:                "the event hub does not allow this send",
	amqp.ErrCondMessageSizeExceeded:       "the message is larger than the event hub accepts",
	amqp.ErrCondDecodeError:               "the event hub could not decode the message",
	amqp.ErrCondInvalidField:              "the event hub rejected a field of the request",
	amqp.ErrCondNotImplemented:            "the event hub does not implement the request",
	amqp.ErrCondPreconditionFailed:        "a precondition failed",
	amqp.ErrCondResourceDeleted:           "the event hub was deleted",
	"com.microsoft:entity-disabled":       "the event hub is disabled",
	"com.microsoft:argument-out-of-range": "the partition does not exist",
	"com.microsoft:argument-error":        "the event hub rejected an argument",
	"com.microsoft:publisher-revoked":     "the publisher was revoked",
}

// classify turns an SDK error into a sink error with a clear, redacted
// reason.
func (s *Sink) classify(err error) *sink.Error {
	where := fmt.Sprintf("event hub %s in namespace %s", s.hub, s.ns)
	perm := func(reason string) *sink.Error {
		return sink.Permanent(s.redact(fmt.Errorf("%s: %s: %w", where, reason, err)))
	}
	retry := func() *sink.Error { return sink.Retryable(s.redact(fmt.Errorf("%s: %w", where, err))) }

	var ehErr *azeventhubs.Error
	var amqpErr *amqp.Error
	var rpc interface{ RPCCode() int }
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return retry()
	case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeUnauthorizedAccess:
		return perm(permanentConditions[amqp.ErrCondUnauthorizedAccess])
	case errors.As(err, &ehErr):
		return retry() // connection lost: the SDK's retries ran out
	case errors.As(err, &amqpErr):
		if reason, ok := permanentConditions[amqpErr.Condition]; ok {
			return perm(reason)
		}
		return retry() // server-busy, timeout, internal-error, detach-forced, …
	case errors.As(err, &rpc):
		switch rpc.RPCCode() {
		case 401:
			return perm(permanentConditions[amqp.ErrCondUnauthorizedAccess])
		case 403:
			return perm("the event hub forbids this operation")
		case 404:
			return perm(permanentConditions[amqp.ErrCondNotFound])
		case 400:
			return perm("the event hub rejected the request")
		}
		return retry()
	case errors.As(err, &netErr):
		return retry()
	case strings.Contains(err.Error(), "larger than the maximum size allowed by link"):
		return perm("the configured batch size is invalid")
	}
	return retry()
}

func (s *Sink) redact(err error) error { return sink.Redact(err, s.secrets...) }

// Close closes the producer; a WriteBatch still running fails retryably.
func (s *Sink) Close() error {
	s.mu.Lock()
	cl := s.client
	s.client = nil
	s.mu.Unlock()
	if cl == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cl.Close(ctx)
	if err != nil {
		return s.redact(fmt.Errorf("close event hub producer: %w", err))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// TokenFunc adapts a function that mints bearer tokens to an
// azcore.TokenCredential, e.g. to authenticate as Sluice's own service
// principal with the built-in issuer.
type TokenFunc func(ctx context.Context, scopes []string) (token string, expires time.Time, err error)

// GetToken implements azcore.TokenCredential.
func (f TokenFunc) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, exp, err := f(ctx, opts.Scopes)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}
