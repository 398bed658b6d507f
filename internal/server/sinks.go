package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/automation"
	"sluice/internal/export"
	"sluice/internal/sink/eventhub"
	"sluice/internal/sink/kafka"
	"sluice/internal/sink/logicapp"
	"sluice/internal/sink/webhook"
	"sluice/internal/sink/workspace"
)

// ServicePrincipalID is the object id of Sluice's own service principal,
// named as in the Microsoft service "Windows Azure Security Resource
// Provider": the identity of trusted-service deliveries when tokens come
// from the built-in issuer.
const (
	ServicePrincipalID   = auth.SecurityResourceProviderID
	ServicePrincipalName = "Windows Azure Security Resource Provider"
)

// sinkFor builds the sink of an action from its compiled configuration.
func (s *Server) sinkFor(a *export.Action) (export.Sink, error) {
	switch cfg := a.Config.(type) {
	case automation.LogicAppTarget:
		return logicapp.New(logicapp.Options{URI: cfg.URI, RootCAs: s.caPool})
	case automation.EventHubTarget:
		return s.eventHubSink(cfg)
	case automation.WorkspaceTarget:
		return s.workspaceSink(a, cfg)
	case automation.KafkaTarget:
		return s.kafkaSink(cfg)
	case automation.WebhookTarget:
		return webhook.New(webhook.Options{URL: cfg.URI, SigningKey: cfg.SigningKey, Batch: cfg.Batch, MaxEvents: cfg.MaxEvents, RootCAs: s.caPool})
	default:
		return nil, fmt.Errorf("action type %s has no sink in this build", a.Type)
	}
}

// eventHubSink delivers over AMQP with the connection string, over the
// Kafka endpoint when the connection string says TransportType=Kafka, or
// as Sluice's own identity for trusted-service actions.
func (s *Server) eventHubSink(cfg automation.EventHubTarget) (export.Sink, error) {
	tlsConf := &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}
	if cfg.ConnectionString != "" {
		cs, err := eventhub.ParseConnectionString(cfg.ConnectionString)
		if err != nil {
			return nil, fmt.Errorf("event hub connection string: %w", err)
		}
		if cs.Kafka() {
			o, err := kafka.EventHubOptions(kafka.EventHub{Endpoint: cs.Endpoint, EntityPath: cs.EntityPath,
				ConnectionString: cfg.ConnectionString, Emulator: cs.UseDevelopmentEmulator, RootCAs: s.caPool})
			if err != nil {
				return nil, err
			}
			return kafka.New(o)
		}
		return eventhub.New(eventhub.Options{ConnectionString: cfg.ConnectionString, TLS: tlsConf,
			MaxBatchBytes: uint64(s.Config.Export.EventHubMaxBatchBytes)})
	}
	id, err := armid.Parse(cfg.ResourceID)
	if err != nil {
		return nil, fmt.Errorf("eventHubResourceId: %w", err)
	}
	ns, hub := eventHubNames(id)
	if ns == "" || hub == "" {
		return nil, fmt.Errorf("eventHubResourceId %s does not name Microsoft.EventHub/namespaces/{namespace}/eventhubs/{hub}", cfg.ResourceID)
	}
	host := ns + ".servicebus.windows.net"
	custom := ""
	for name, target := range s.Config.Export.EventHubNamespaces {
		if strings.EqualFold(name, ns) {
			custom = target
		}
	}
	cred, err := s.serviceCredential()
	if err != nil {
		return nil, err
	}
	return eventhub.New(eventhub.Options{Namespace: host, EventHub: hub, Credential: cred, TLS: tlsConf, CustomEndpoint: custom,
		MaxBatchBytes: uint64(s.Config.Export.EventHubMaxBatchBytes)})
}

// kafkaSink produces to any Kafka cluster (the Kafka extension action).
// With TLS, the server's CA pool (system roots plus export.caBundle) and
// the action's own CA certificate are trusted.
func (s *Server) kafkaSink(cfg automation.KafkaTarget) (export.Sink, error) {
	o := kafka.Options{Brokers: cfg.Brokers, Topic: cfg.Topic, Mechanism: cfg.Mechanism, User: cfg.Username, Password: cfg.Password}
	if cfg.TLS {
		conf := &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // the action asks for it
		if cfg.CACertificate != "" {
			var pool *x509.CertPool
			if s.caPool != nil {
				pool = s.caPool.Clone()
			} else if sys, err := x509.SystemCertPool(); err == nil && sys != nil {
				pool = sys
			} else {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM([]byte(cfg.CACertificate)) {
				return nil, fmt.Errorf("kafka: the action's tls.caCertificate holds no PEM certificate")
			}
			conf.RootCAs = pool
		}
		o.TLS = conf
	}
	return kafka.New(o)
}

// eventHubNames reads the namespace and hub of an Event Hub resource id.
func eventHubNames(id *armid.ID) (namespace, hub string) {
	if !strings.EqualFold(id.Namespace, "Microsoft.EventHub") {
		return "", ""
	}
	for i := 0; i+1 < len(id.Types); i++ {
		if strings.EqualFold(id.Types[i], "namespaces") && strings.EqualFold(id.Types[i+1], "eventhubs") {
			return id.Names[i], id.Names[i+1]
		}
	}
	return "", ""
}

// workspaceSink writes into the workspace when this server hosts it, else
// to the Logs Ingestion API target configured for the action's workspace.
func (s *Server) workspaceSink(a *export.Action, cfg automation.WorkspaceTarget) (export.Sink, error) {
	if hs, err := s.hostedWorkspaceSink(a, cfg); hs != nil || err != nil {
		return hs, err
	}
	var wc *workspace.Config
	for i := range s.Config.Export.Workspaces {
		if strings.EqualFold(s.Config.Export.Workspaces[i].WorkspaceResourceID, cfg.ResourceID) {
			wc = &s.Config.Export.Workspaces[i]
		}
	}
	if wc == nil {
		return nil, fmt.Errorf("workspace %s has no Logs Ingestion configuration (export.workspaces in the configuration file)", cfg.ResourceID)
	}
	deps := workspace.Deps{
		Transport: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment}},
		Warn: func(ctx context.Context, eventID, msg string) {
			if err := s.Engine.Warn(ctx, a.Key, eventID, msg); err != nil {
				s.Log.Warn("record a delivery warning", "action", a.Key, "err", err)
			}
		},
		Log: s.Log.With("component", "workspace-sink", "action", a.Key),
	}
	if wc.ClientSecret == nil {
		cred, err := s.serviceCredential()
		if err != nil {
			return nil, err
		}
		deps.Credential = cred
	}
	return workspace.NewLogsIngestion(*wc, deps)
}

// serviceCredential is Sluice's own identity: the configured Entra ID
// application, or tokens of the built-in issuer for its service principal.
// Tokens of the built-in issuer carry its own audience; a target trusting
// the issuer accepts them.
func (s *Server) serviceCredential() (azcore.TokenCredential, error) {
	id := s.Config.Export.Identity
	if id.ClientID != "" {
		opts := &azidentity.ClientSecretCredentialOptions{}
		if id.AuthorityHost != "" {
			opts.ClientOptions = policy.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: id.AuthorityHost}}
		}
		return azidentity.NewClientSecretCredential(id.TenantID, id.ClientID, id.ClientSecret, opts)
	}
	return eventhub.TokenFunc(func(ctx context.Context, scopes []string) (string, time.Time, error) {
		tok, err := s.Issuer.Mint(s.Bootstrap.TenantID, ServicePrincipalID, ServicePrincipalName, time.Hour)
		return tok, time.Now().Add(55 * time.Minute), err
	}), nil
}
