package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// EventHubPort is the port of an Event Hubs namespace's Kafka endpoint.
const EventHubPort = "9093"

// EventHub describes an Event Hub reached through its Kafka endpoint:
// the parts of its connection string the Kafka protocol needs.
type EventHub struct {
	// Endpoint is the connection string's Endpoint (sb://host[:port]/).
	Endpoint string
	// EntityPath is the hub, used as the topic.
	EntityPath string
	// ConnectionString is the whole connection string: the SASL PLAIN
	// password, with the user "$ConnectionString".
	ConnectionString string
	// Emulator (UseDevelopmentEmulator=true) turns TLS off.
	Emulator bool
	// RootCAs, when set, replaces the system roots for TLS.
	RootCAs *x509.CertPool
}

// EventHubOptions maps an Event Hub to producer options: the endpoint's
// host at port 9093 (or the port the endpoint names), SASL PLAIN with user
// "$ConnectionString" and the connection string as password, TLS unless
// the emulator flag is set, and the hub as topic.
func EventHubOptions(h EventHub) (Options, error) {
	if h.EntityPath == "" {
		return Options{}, errors.New("kafka: the connection string names no EntityPath (the event hub)")
	}
	u, err := url.Parse(strings.TrimSpace(h.Endpoint))
	if err != nil || u.Hostname() == "" {
		return Options{}, fmt.Errorf("kafka: the connection string's Endpoint %q is not a URL with a host", h.Endpoint)
	}
	port := u.Port()
	if port == "" {
		port = EventHubPort
	}
	o := Options{
		Brokers:   []string{net.JoinHostPort(u.Hostname(), port)},
		Topic:     h.EntityPath,
		Mechanism: MechanismPlain,
		User:      "$ConnectionString",
		Password:  h.ConnectionString,
	}
	if !h.Emulator {
		o.TLS = &tls.Config{ServerName: u.Hostname(), RootCAs: h.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}
