package kafka_test

import (
	"context"
	"strings"
	"testing"

	"sluice/internal/sink/kafka"
)

func TestEventHubOptions_mapping(t *testing.T) {
	cs := "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0;EntityPath=alerts"
	o, err := kafka.EventHubOptions(kafka.EventHub{Endpoint: "sb://ns.servicebus.windows.net/", EntityPath: "alerts", ConnectionString: cs})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Brokers) != 1 || o.Brokers[0] != "ns.servicebus.windows.net:9093" || o.Topic != "alerts" ||
		o.Mechanism != kafka.MechanismPlain || o.User != "$ConnectionString" || o.Password != cs {
		t.Errorf("options = %+v", o)
	}
	if o.TLS == nil || o.TLS.ServerName != "ns.servicebus.windows.net" {
		t.Errorf("TLS = %+v, want TLS to the namespace host", o.TLS)
	}
	emu, err := kafka.EventHubOptions(kafka.EventHub{Endpoint: "sb://127.0.0.1:19092", EntityPath: "hub", ConnectionString: cs, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	if emu.Brokers[0] != "127.0.0.1:19092" || emu.TLS != nil {
		t.Errorf("emulator options = %+v, want the named port and no TLS", emu)
	}
	for _, bad := range []kafka.EventHub{
		{Endpoint: "sb://ns/", ConnectionString: cs},
		{Endpoint: "::", EntityPath: "hub", ConnectionString: cs},
		{Endpoint: "", EntityPath: "hub", ConnectionString: cs},
	} {
		if _, err := kafka.EventHubOptions(bad); err == nil {
			t.Errorf("kafka.EventHubOptions(%+v) accepted", bad)
		} else if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}

// TestEventHub_delivers_through_kafka_endpoint runs the mapping against a
// kfake broker that, like the Event Hubs Kafka endpoint, takes SASL PLAIN
// with "$ConnectionString" over TLS.
func TestEventHub_delivers_through_kafka_endpoint(t *testing.T) {
	serverTLS, clientTLS := tlsPair(t)
	c := cluster(t, serverTLS)
	addr := c.ListenAddrs()[0]
	o, err := kafka.EventHubOptions(kafka.EventHub{Endpoint: "sb://" + addr + "/", EntityPath: "hub", ConnectionString: connString,
		RootCAs: clientTLS.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	if o.TLS == nil {
		t.Fatal("no TLS")
	}
	s, err := kafka.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WriteBatch(ctx, messages(20)); err != nil {
		t.Fatal(err)
	}
	recs := consume(t, c, clientTLS, 20)
	if len(recs) != 20 {
		t.Fatalf("consumed %d records", len(recs))
	}
	for _, r := range recs {
		if r.Topic != "hub" || len(r.Key) == 0 {
			t.Errorf("record topic %q key %q", r.Topic, r.Key)
		}
	}
}
