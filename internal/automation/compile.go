package automation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"unique"

	"sluice/internal/armid"
	"sluice/internal/export"
)

// Sink configurations of compiled actions (export.Action.Config). The
// server's sink factory switches on these types.

// LogicAppTarget is where a LogicApp action POSTs events.
type LogicAppTarget struct {
	URI string
}

// EventHubTarget is the Event Hub an EventHub action sends to.
type EventHubTarget struct {
	ResourceID       string
	ConnectionString string // "" with TrustedService
	TrustedService   bool
}

// WorkspaceTarget is the Log Analytics workspace a Workspace action writes to.
type WorkspaceTarget struct {
	ResourceID string
}

// KafkaTarget is the topic a Kafka action produces to.
type KafkaTarget struct {
	Brokers            []string
	Topic              string
	Mechanism          string // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username           string
	Password           string
	TLS                bool
	InsecureSkipVerify bool
	CACertificate      string // PEM, trusted besides the server's CA pool
}

// WebhookTarget is the HTTPS endpoint a Webhook action posts to.
type WebhookTarget struct {
	URI        string // with its (secret) query
	SigningKey string
	Batch      bool
	MaxEvents  int
}

// Compile turns a stored, validated automation (secrets in clear) into the
// engine's form: scopes and sources for the index, the compiled rule sets,
// and one action per destination with its sink configuration.
func Compile(a *Automation) (*export.Export, error) {
	id, err := armid.Parse(a.ID)
	if err != nil {
		return nil, fmt.Errorf("automation id: %w", err)
	}
	m, err := NewMatcher(a.Properties.Sources)
	if err != nil {
		return nil, fmt.Errorf("automation %s: %w", a.ID, err)
	}
	key := armid.Key(a.ID)
	x := &export.Export{
		Key:          key,
		ID:           a.ID,
		Subscription: id.Subscription,
		Enabled:      a.Properties.IsEnabled,
		Sources:      m.Sources(),
		Match:        m.match,
		NeedsDoc:     m.needsDoc,
	}
	x.Scopes = internScopes(a.Properties.Scopes)
	for i, act := range a.Properties.Actions {
		x.Actions = append(x.Actions, compileAction(key, i, act))
	}
	return x, nil
}

// scopeLists interns scope lists: automations with the same scopes (those
// of one subscription, typically) share one list and its strings, which
// keeps the engine's per-event scope checks in cache. Lists are never
// modified.
var (
	scopeListsMu sync.Mutex
	scopeLists   = map[unique.Handle[string]][]string{}
)

func internScopes(scopes []Scope) []string {
	keys := make([]string, len(scopes))
	for i, s := range scopes {
		keys[i] = armid.Key(s.ScopePath)
	}
	h := unique.Make(strings.Join(keys, "\n"))
	scopeListsMu.Lock()
	defer scopeListsMu.Unlock()
	if l, ok := scopeLists[h]; ok {
		return l
	}
	scopeLists[h] = keys
	return keys
}

// WorkspaceBatchSize bounds the batches of Workspace actions (the export
// configuration's batchSize when that is larger): a workspace writes a
// batch's rows in one transaction and the Logs Ingestion API takes up to
// 1 MB per call, so larger batches cost less per row.
const WorkspaceBatchSize = 1000

func compileAction(key string, i int, a Action) *export.Action {
	out := &export.Action{Key: export.ActionKey(key, i), Type: a.ActionType}
	switch a.ActionType {
	case ActionLogicApp:
		out.Config = LogicAppTarget{URI: a.URI}
	case ActionEventHub:
		out.Config = EventHubTarget{ResourceID: a.EventHubResourceID, ConnectionString: a.ConnectionString, TrustedService: a.IsTrustedServiceEnabled}
	case ActionWorkspace:
		out.Config = WorkspaceTarget{ResourceID: a.WorkspaceResourceID}
		out.BatchSize = WorkspaceBatchSize
	case ActionKafka:
		out.Config = KafkaTarget{Brokers: append([]string(nil), a.Brokers...), Topic: a.Topic, Mechanism: a.SASLMechanism,
			Username: a.SASLUsername, Password: a.SASLPassword, TLS: a.TLSEnabled, InsecureSkipVerify: a.TLSInsecureSkipVerify,
			CACertificate: a.TLSCACertificate}
	case ActionWebhook:
		out.Config = WebhookTarget{URI: a.URI, SigningKey: a.SigningKey, Batch: a.Batch, MaxEvents: a.MaxEvents}
	}
	out.Secrets = secretParts(a)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%t", a.ActionType, strings.ToLower(a.ResourceID()), a.Secret(), a.IsTrustedServiceEnabled)
	switch a.ActionType {
	case ActionKafka, ActionWebhook:
		// Every setting of the extension types names the destination.
		fmt.Fprintf(h, "\x00%#v", out.Config)
	}
	out.Fingerprint = hex.EncodeToString(h.Sum(nil)[:16])
	return out
}

// secretParts lists the strings to redact from an action's errors: the
// secret itself and the parts that are secret on their own (the key or
// signature of a connection string, the query of a trigger or webhook uri).
func secretParts(a Action) []string {
	s := a.Secret()
	if s == "" {
		return nil
	}
	parts := []string{s}
	switch a.ActionType {
	case ActionEventHub:
		if cs, err := ParseConnectionString(s); err == nil {
			for _, p := range []string{cs.Key, cs.Signature} {
				if p != "" {
					parts = append(parts, p)
				}
			}
		}
	case ActionWebhook:
		if strings.Contains(a.URI, "?") {
			parts = append(parts, urlSecrets(a.URI)...)
		}
	case ActionLogicApp:
		parts = append(parts, urlSecrets(s)[1:]...)
	}
	return parts
}

// urlSecrets lists a uri, its query and the query's values of 8 or more
// characters.
func urlSecrets(s string) []string {
	if s == "" {
		return nil
	}
	parts := []string{s}
	if u, err := url.Parse(s); err == nil && u.RawQuery != "" {
		parts = append(parts, u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 8 {
					parts = append(parts, v)
				}
			}
		}
	}
	return parts
}
