package amqptest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"sluice/internal/amqptest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fastRetry keeps the SDK from backing off for seconds on errors the tests
// provoke on purpose.
var fastRetry = azeventhubs.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}

func producer(t *testing.T, connStr string) *azeventhubs.ProducerClient {
	t.Helper()
	p, err := azeventhubs.NewProducerClientFromConnectionString(connStr, "", &azeventhubs.ProducerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func consumer(t *testing.T, connStr string) *azeventhubs.ConsumerClient {
	t.Helper()
	c, err := azeventhubs.NewConsumerClientFromConnectionString(connStr, "", azeventhubs.DefaultConsumerGroup,
		&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// receive reads n events of a partition from its start.
func receive(t *testing.T, c *azeventhubs.ConsumerClient, partition string, start azeventhubs.StartPosition, n int) []*azeventhubs.ReceivedEventData {
	t.Helper()
	ctx := ctxT(t)
	pc, err := c.NewPartitionClient(partition, &azeventhubs.PartitionClientOptions{StartPosition: start})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	var out []*azeventhubs.ReceivedEventData
	for len(out) < n {
		evs, err := pc.ReceiveEvents(ctx, n-len(out), nil)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("receive: %v", err)
		}
		out = append(out, evs...)
		if ctx.Err() != nil {
			t.Fatalf("received %d of %d events from partition %s", len(out), n, partition)
		}
	}
	return out
}

func TestProduceAndConsumeWithTheRealClients(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 3})
	ctx := ctxT(t)
	p := producer(t, srv.ConnectionString())

	props, err := p.GetEventHubProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.Name != "hub" || strings.Join(props.PartitionIDs, ",") != "0,1,2" {
		t.Fatalf("hub properties = %+v", props)
	}

	batch, err := p.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionKey: to.Ptr("resource-a")})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := 0; i < 20; i++ {
		body := []byte(fmt.Sprintf(`{"n":%d}`, i))
		want = append(want, body)
		if err := batch.AddEventData(&azeventhubs.EventData{Body: body, MessageID: to.Ptr(fmt.Sprintf("id-%d", i)),
			ContentType: to.Ptr("application/json")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	part := srv.PartitionForKey("resource-a")
	if got := len(srv.Messages(part)); got != 20 {
		t.Fatalf("partition %s holds %d events, want 20", part, got)
	}

	pp, err := p.GetPartitionProperties(ctx, part, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pp.LastEnqueuedSequenceNumber != 19 || pp.IsEmpty || pp.BeginningSequenceNumber != 0 {
		t.Fatalf("partition properties = %+v", pp)
	}

	c := consumer(t, srv.ConnectionString())
	evs := receive(t, c, part, azeventhubs.StartPosition{Earliest: to.Ptr(true)}, 20)
	for i, ev := range evs {
		if !bytes.Equal(ev.Body, want[i]) {
			t.Fatalf("event %d body %q, want %q", i, ev.Body, want[i])
		}
		if ev.MessageID == nil || *ev.MessageID != fmt.Sprintf("id-%d", i) {
			t.Fatalf("event %d message id %v", i, ev.MessageID)
		}
		if ev.SequenceNumber != int64(i) || ev.PartitionKey == nil || *ev.PartitionKey != "resource-a" {
			t.Fatalf("event %d: sequence %d, partition key %v", i, ev.SequenceNumber, ev.PartitionKey)
		}
		if ev.ContentType == nil || *ev.ContentType != "application/json" || ev.EnqueuedTime == nil {
			t.Fatalf("event %d: content type %v, enqueued %v", i, ev.ContentType, ev.EnqueuedTime)
		}
	}
}
