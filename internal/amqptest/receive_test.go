package amqptest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"

	"sluice/internal/amqptest"
)

// sendToPartition sends bodies to one partition in batches of up to per.
func sendToPartition(t *testing.T, p *azeventhubs.ProducerClient, partition string, bodies [][]byte) {
	t.Helper()
	ctx := ctxT(t)
	batch, err := p.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr(partition)})
	if err != nil {
		t.Fatal(err)
	}
	flush := func() {
		if batch.NumEvents() == 0 {
			return
		}
		if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		if batch, err = p.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr(partition)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bodies {
		err := batch.AddEventData(&azeventhubs.EventData{Body: b}, nil)
		if err == azeventhubs.ErrEventDataTooLarge {
			flush()
			err = batch.AddEventData(&azeventhubs.EventData{Body: b}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	flush()
}

func numbered(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(strconv.Itoa(i))
	}
	return out
}

func TestStartPositions(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 2})
	p := producer(t, srv.ConnectionString())
	sendToPartition(t, p, "1", numbered(10))
	msgs := srv.Messages("1")
	if len(msgs) != 10 {
		t.Fatalf("partition 1 holds %d events", len(msgs))
	}
	c := consumer(t, srv.ConnectionString())
	first := func(start azeventhubs.StartPosition) string {
		evs := receive(t, c, "1", start, 1)
		return string(evs[0].Body)
	}
	offset5 := strconv.FormatInt(msgs[5].Offset, 10)
	cases := []struct {
		name  string
		start azeventhubs.StartPosition
		want  string
	}{
		{"earliest", azeventhubs.StartPosition{Earliest: to.Ptr(true)}, "0"},
		{"after_sequence_3", azeventhubs.StartPosition{SequenceNumber: to.Ptr(int64(3))}, "4"},
		{"at_sequence_3", azeventhubs.StartPosition{SequenceNumber: to.Ptr(int64(3)), Inclusive: true}, "3"},
		{"after_offset_of_5", azeventhubs.StartPosition{Offset: &offset5}, "6"},
		{"at_offset_of_5", azeventhubs.StartPosition{Offset: &offset5, Inclusive: true}, "5"},
		{"enqueued_before_all", azeventhubs.StartPosition{EnqueuedTime: to.Ptr(msgs[0].EnqueuedTime.Add(-time.Second))}, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := first(tc.start); got != tc.want {
				t.Fatalf("first event %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("latest_sees_only_new_events", func(t *testing.T) {
		pc, err := c.NewPartitionClient("1", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Latest: to.Ptr(true)}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(context.Background())
		short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		evs, _ := pc.ReceiveEvents(short, 1, nil)
		cancel()
		if len(evs) != 0 {
			t.Fatalf("latest receiver got old event %q", evs[0].Body)
		}
		sendToPartition(t, p, "1", [][]byte{[]byte("new")})
		evs, err = pc.ReceiveEvents(ctxT(t), 1, nil)
		if err != nil || len(evs) != 1 || string(evs[0].Body) != "new" || evs[0].SequenceNumber != 10 {
			t.Fatalf("after a send: %v, %d events", err, len(evs))
		}
	})

	t.Run("partition_properties", func(t *testing.T) {
		pp, err := c.GetPartitionProperties(ctxT(t), "0", nil)
		if err != nil || !pp.IsEmpty || pp.LastEnqueuedSequenceNumber != -1 {
			t.Fatalf("empty partition 0: %+v, %v", pp, err)
		}
	})
}

func TestRetentionAdvancesTheBeginning(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 1, Retain: 4})
	p := producer(t, srv.ConnectionString())
	sendToPartition(t, p, "0", numbered(10))
	pp, err := p.GetPartitionProperties(ctxT(t), "0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pp.BeginningSequenceNumber != 6 || pp.LastEnqueuedSequenceNumber != 9 {
		t.Fatalf("partition properties %+v, want sequence numbers 6..9", pp)
	}
	evs := receive(t, consumer(t, srv.ConnectionString()), "0", azeventhubs.StartPosition{Earliest: to.Ptr(true)}, 4)
	if string(evs[0].Body) != "6" || string(evs[3].Body) != "9" {
		t.Fatalf("earliest retained events %q … %q", evs[0].Body, evs[3].Body)
	}
	if srv.Count() != 10 {
		t.Fatalf("count %d, want 10", srv.Count())
	}
}

// TestLargeEventsSpanFrames sends events far larger than the client's 64 KB
// frames (and, with a small server frame size, the client's frames too).
func TestLargeEventsSpanFrames(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 1, MaxFrameSize: 8192})
	p := producer(t, srv.ConnectionString())
	big := [][]byte{bytes.Repeat([]byte("a"), 300_000), bytes.Repeat([]byte("b"), 100), bytes.Repeat([]byte("c"), 700_000)}
	sendToPartition(t, p, "0", big)
	evs := receive(t, consumer(t, srv.ConnectionString()), "0", azeventhubs.StartPosition{Earliest: to.Ptr(true)}, 3)
	for i := range big {
		if !bytes.Equal(evs[i].Body, big[i]) {
			t.Fatalf("event %d: %d bytes back, sent %d", i, len(evs[i].Body), len(big[i]))
		}
	}
}

// TestManyEventsExerciseCreditAndWindows moves more events than the
// client's prefetch credit and its session window.
func TestManyEventsExerciseCreditAndWindows(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 1})
	p := producer(t, srv.ConnectionString())
	const n = 12000
	sendToPartition(t, p, "0", numbered(n))
	evs := receive(t, consumer(t, srv.ConnectionString()), "0", azeventhubs.StartPosition{Earliest: to.Ptr(true)}, n)
	for i, ev := range evs {
		if string(ev.Body) != strconv.Itoa(i) || ev.SequenceNumber != int64(i) {
			t.Fatalf("event %d: body %q sequence %d", i, ev.Body, ev.SequenceNumber)
		}
	}
	if got := fmt.Sprint(srv.Count()); got != fmt.Sprint(n) {
		t.Fatalf("count %s", got)
	}
}

func TestUnknownConsumerGroup(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{ConsumerGroups: []string{"siem"}})
	for _, tc := range []struct {
		group string
		ok    bool
	}{{"siem", true}, {"nope", false}} {
		c, err := azeventhubs.NewConsumerClientFromConnectionString(srv.ConnectionString(), "", tc.group,
			&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err = pc.ReceiveEvents(short, 1, nil)
		timedOut := short.Err() != nil
		cancel()
		if tc.ok && (err != nil && !timedOut) {
			t.Fatalf("group %s: %v", tc.group, err)
		}
		var amqpErr *amqp.Error
		if !tc.ok && (!errors.As(err, &amqpErr) || amqpErr.Condition != amqp.ErrCondNotFound || timedOut) {
			t.Fatalf("group %s: %v, want amqp:not-found before the deadline", tc.group, err)
		}
		pc.Close(context.Background())
		c.Close(context.Background())
	}
}
