package automation

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"sluice/internal/armapi"
	"sluice/internal/armid"
)

// Bounds of an automation (documented in the README).
const (
	MaxPerSubscription = 1000
	MaxScopes          = 10
	MaxSources         = 20
	MaxRuleSets        = 20
	MaxRules           = 20
	MaxActions         = 10
	MaxDescription     = 1024
	MaxTags            = 50
	MaxTagName         = 512
	MaxTagValue        = 256
	MaxNameLength      = 260
	MaxJPath           = 512
	MaxExpectedValue   = 1024
	MaxLocation        = 128
	MaxKind            = 128
	// Extension action types.
	MaxBrokers       = 32
	MaxTopic         = 249 // Kafka's own limit
	MaxSASLField     = 1024
	MaxCACertificate = 64 << 10
	MinSigningKey    = 16
	MaxSigningKey    = 1024
	MaxWebhookURI    = 2048
	DefaultMaxEvents = 100
	MaxWebhookEvents = 1000
)

// invalid is a 400 with a code, the JSON location of the problem as
// target and a message that starts with it. Messages never quote secrets.
func invalid(code, target, format string, args ...any) *armapi.Error {
	msg := fmt.Sprintf(format, args...)
	if target != "" {
		msg = target + ": " + msg
	}
	return &armapi.Error{Status: 400, Code: code, Message: msg, Target: target}
}

// ValidateName checks an automation name: 1–260 characters, no control
// characters and none of < > % & : \ ? / #, not ending in a period or space.
func ValidateName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameLength:
		return armapi.BadRequest("InvalidAutomationName", "The automation name must have 1 to %d characters.", MaxNameLength)
	case strings.ContainsAny(name, `<>%&:\?/#`) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return armapi.BadRequest("InvalidAutomationName", "The automation name '%s' contains a character that is not allowed (< > %% & : \\ ? / # or a control character).", name)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return armapi.BadRequest("InvalidAutomationName", "The automation name '%s' must not end with a period or a space.", name)
	}
	return nil
}

// Validate checks an automation that is to live in subscription sub. It
// returns the first problem found as a 400 *armapi.Error, and derives each
// EventHub action's sasPolicyName from its connection string.
func Validate(a *Automation, sub string) error {
	if strings.TrimSpace(a.Location) == "" {
		return invalid("LocationRequired", "location", "The location is required.")
	}
	if len(a.Location) > MaxLocation {
		return invalid("LimitExceeded", "location", "The location is longer than %d characters.", MaxLocation)
	}
	if len(a.Kind) > MaxKind {
		return invalid("LimitExceeded", "kind", "The kind is longer than %d characters.", MaxKind)
	}
	if err := validateTags(a.Tags); err != nil {
		return err
	}
	p := &a.Properties
	if len(p.Description) > MaxDescription {
		return invalid("LimitExceeded", "properties.description", "The description is longer than %d characters.", MaxDescription)
	}
	if err := validateScopes(p.Scopes, sub); err != nil {
		return err
	}
	if err := validateSources(p.Sources); err != nil {
		return err
	}
	return validateActions(p.Actions)
}

func validateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return invalid("InvalidTag", "tags", "At most %d tags are allowed, got %d.", MaxTags, len(tags))
	}
	for k, v := range tags {
		switch {
		case strings.TrimSpace(k) == "":
			return invalid("InvalidTag", "tags", "A tag name is empty.")
		case len(k) > MaxTagName:
			return invalid("InvalidTag", "tags", "The tag name '%.40s…' is longer than %d characters.", k, MaxTagName)
		case len(v) > MaxTagValue:
			return invalid("InvalidTag", "tags", "The value of tag '%s' is longer than %d characters.", k, MaxTagValue)
		}
	}
	return nil
}

func validateScopes(scopes []Scope, sub string) error {
	if len(scopes) == 0 {
		return invalid("ScopesRequired", "properties.scopes", "At least one scope is required (the subscription or a resource group in it).")
	}
	if len(scopes) > MaxScopes {
		return invalid("LimitExceeded", "properties.scopes", "At most %d scopes are allowed, got %d.", MaxScopes, len(scopes))
	}
	for i, s := range scopes {
		target := fmt.Sprintf("properties.scopes[%d].scopePath", i)
		if len(s.Description) > MaxDescription {
			return invalid("LimitExceeded", fmt.Sprintf("properties.scopes[%d].description", i), "The description is longer than %d characters.", MaxDescription)
		}
		if strings.TrimSpace(s.ScopePath) == "" {
			return invalid("InvalidScope", target, "The scopePath is required.")
		}
		id, err := armid.Parse(s.ScopePath)
		if err != nil || id.Subscription == "" || id.IsResource() {
			return invalid("InvalidScope", target, "'%s' is not a subscription or resource group id.", s.ScopePath)
		}
		if !strings.EqualFold(id.Subscription, sub) {
			return invalid("InvalidScope", target, "'%s' is outside the automation's subscription '%s'; a scope must be the subscription or a resource group in it.", s.ScopePath, sub)
		}
	}
	return nil
}

func validateSources(sources []Source) error {
	if len(sources) == 0 {
		return invalid("SourcesRequired", "properties.sources", "At least one source is required.")
	}
	if len(sources) > MaxSources {
		return invalid("LimitExceeded", "properties.sources", "At most %d sources are allowed, got %d.", MaxSources, len(sources))
	}
	for i, s := range sources {
		target := fmt.Sprintf("properties.sources[%d]", i)
		if strings.TrimSpace(s.EventSource) == "" {
			return invalid("InvalidEventSource", target+".eventSource", "The eventSource is required; valid values: %s.", strings.Join(EventSources, ", "))
		}
		if _, ok := CanonicalEventSource(s.EventSource); !ok {
			return invalid("InvalidEventSource", target+".eventSource", "'%s' is not a known event source; valid values: %s.", s.EventSource, strings.Join(EventSources, ", "))
		}
		if len(s.RuleSets) > MaxRuleSets {
			return invalid("LimitExceeded", target+".ruleSets", "At most %d rule sets are allowed per source, got %d.", MaxRuleSets, len(s.RuleSets))
		}
		for j, rs := range s.RuleSets {
			if len(rs.Rules) > MaxRules {
				return invalid("LimitExceeded", fmt.Sprintf("%s.ruleSets[%d].rules", target, j), "At most %d rules are allowed per rule set, got %d.", MaxRules, len(rs.Rules))
			}
			for k, r := range rs.Rules {
				if _, err := compileRule(r, fmt.Sprintf("%s.ruleSets[%d].rules[%d]", target, j, k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func validateActions(actions []Action) error {
	if len(actions) == 0 {
		return invalid("ActionsRequired", "properties.actions", "At least one action is required.")
	}
	if len(actions) > MaxActions {
		return invalid("LimitExceeded", "properties.actions", "At most %d actions are allowed, got %d.", MaxActions, len(actions))
	}
	for i := range actions {
		a := &actions[i]
		target := fmt.Sprintf("properties.actions[%d]", i)
		switch a.ActionType {
		case ActionEventHub:
			if err := checkResourceID(a.EventHubResourceID, target+".eventHubResourceId", "InvalidEventHubResourceId",
				"an Event Hubs namespace or event hub", "microsoft.eventhub/namespaces", "microsoft.eventhub/namespaces/eventhubs"); err != nil {
				return err
			}
			if a.ConnectionString == "" {
				if !a.IsTrustedServiceEnabled {
					return invalid("InvalidConnectionString", target+".connectionString",
						"A connectionString is required unless isTrustedServiceEnabled is true.")
				}
				a.SASPolicyName = ""
				continue
			}
			cs, err := ParseConnectionString(a.ConnectionString)
			if err != nil {
				return invalid("InvalidConnectionString", target+".connectionString", "The connection string is not valid: %v.", err)
			}
			a.SASPolicyName = cs.KeyName
		case ActionLogicApp:
			if err := checkResourceID(a.LogicAppResourceID, target+".logicAppResourceId", "InvalidLogicAppResourceId", "a resource"); err != nil {
				return err
			}
			if a.URI == "" {
				return invalid("InvalidLogicAppUri", target+".uri", "The Logic App trigger uri is required.")
			}
			if err := checkHTTPS(a.URI); err != nil {
				return invalid("InvalidLogicAppUri", target+".uri", "The Logic App trigger uri %v.", err)
			}
		case ActionWorkspace:
			if err := checkResourceID(a.WorkspaceResourceID, target+".workspaceResourceId", "InvalidWorkspaceResourceId",
				"a Log Analytics workspace", "microsoft.operationalinsights/workspaces"); err != nil {
				return err
			}
		case ActionKafka:
			if err := validateKafka(a, target); err != nil {
				return err
			}
		case ActionWebhook:
			if err := validateWebhook(a, target); err != nil {
				return err
			}
		case "":
			return invalid("InvalidActionType", target+".actionType", "The actionType is required; valid values: %s.", strings.Join(ActionTypes, ", "))
		default:
			return invalid("InvalidActionType", target+".actionType", "'%s' is not a known action type; valid values: %s.", a.ActionType, strings.Join(ActionTypes, ", "))
		}
	}
	return nil
}

// validateKafka checks a Kafka action: brokers host:port, a legal topic
// name, a known SASL mechanism with its username and password, and TLS
// options that make sense. Messages never quote the password.
func validateKafka(a *Action, target string) error {
	if len(a.Brokers) == 0 {
		return invalid("InvalidKafkaBrokers", target+".brokers", "At least one broker (host:port) is required.")
	}
	if len(a.Brokers) > MaxBrokers {
		return invalid("InvalidKafkaBrokers", target+".brokers", "At most %d brokers are allowed, got %d.", MaxBrokers, len(a.Brokers))
	}
	for j, b := range a.Brokers {
		if err := checkHostPort(b); err != nil {
			return invalid("InvalidKafkaBrokers", fmt.Sprintf("%s.brokers[%d]", target, j), "'%.300s' is not a broker address: %v.", b, err)
		}
	}
	if err := checkTopic(a.Topic); err != nil {
		return invalid("InvalidKafkaTopic", target+".topic", "The topic %v.", err)
	}
	switch {
	case a.SASLMechanism == "":
		if a.SASLUsername != "" || a.SASLPassword != "" {
			return invalid("InvalidKafkaSaslMechanism", target+".sasl.mechanism",
				"A SASL mechanism is required with a username or password; valid values: %s.", strings.Join(SASLMechanisms, ", "))
		}
	case !slices.Contains(SASLMechanisms, a.SASLMechanism):
		return invalid("InvalidKafkaSaslMechanism", target+".sasl.mechanism", "'%.100s' is not a supported SASL mechanism; valid values: %s.",
			a.SASLMechanism, strings.Join(SASLMechanisms, ", "))
	case strings.TrimSpace(a.SASLUsername) == "":
		return invalid("InvalidKafkaSaslUsername", target+".sasl.username", "A username is required with SASL %s.", a.SASLMechanism)
	case len(a.SASLUsername) > MaxSASLField:
		return invalid("InvalidKafkaSaslUsername", target+".sasl.username", "The username is longer than %d characters.", MaxSASLField)
	case a.SASLPassword == "":
		return invalid("InvalidKafkaSaslPassword", target+".sasl.password", "A password is required with SASL %s.", a.SASLMechanism)
	case len(a.SASLPassword) > MaxSASLField:
		return invalid("InvalidKafkaSaslPassword", target+".sasl.password", "The password is longer than %d characters.", MaxSASLField)
	}
	if !a.TLSEnabled && (a.TLSInsecureSkipVerify || a.TLSCACertificate != "") {
		return invalid("InvalidKafkaTls", target+".tls.enabled", "insecureSkipVerify and caCertificate need tls.enabled true.")
	}
	if a.TLSCACertificate != "" {
		if len(a.TLSCACertificate) > MaxCACertificate {
			return invalid("InvalidKafkaTls", target+".tls.caCertificate", "The CA certificate is longer than %d bytes.", MaxCACertificate)
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(a.TLSCACertificate)) {
			return invalid("InvalidKafkaTls", target+".tls.caCertificate", "The caCertificate holds no PEM certificate.")
		}
	}
	return nil
}

// checkHostPort requires host:port with a host and a port in 1–65535.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("it must be host:port")
	}
	if host == "" || strings.ContainsAny(host, " /\\@?#") {
		return fmt.Errorf("the host is empty or not a host name")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("the port must be a number from 1 to 65535")
	}
	return nil
}

// checkTopic applies Kafka's topic name rules: 1–249 characters of
// [a-zA-Z0-9._-], not "." or "..".
func checkTopic(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("is required")
	case len(t) > MaxTopic:
		return fmt.Errorf("is longer than %d characters", MaxTopic)
	case t == "." || t == "..":
		return fmt.Errorf("must not be '.' or '..'")
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("'%.300s' may only contain ASCII letters, digits, '.', '_' and '-'", t)
		}
	}
	return nil
}

// validateWebhook checks a Webhook action: an https uri, a signing key,
// and maxEvents (default DefaultMaxEvents). Messages never quote the uri
// (its query is secret) or the key.
func validateWebhook(a *Action, target string) error {
	if a.URI == "" {
		return invalid("InvalidWebhookUri", target+".uri", "The webhook uri is required.")
	}
	if len(a.URI) > MaxWebhookURI {
		return invalid("InvalidWebhookUri", target+".uri", "The webhook uri is longer than %d characters.", MaxWebhookURI)
	}
	if err := checkHTTPS(a.URI); err != nil {
		return invalid("InvalidWebhookUri", target+".uri", "The webhook uri %v.", err)
	}
	if u, _ := url.Parse(a.URI); u != nil && u.Fragment != "" {
		return invalid("InvalidWebhookUri", target+".uri", "The webhook uri must not have a fragment.")
	}
	switch {
	case a.SigningKey == "":
		return invalid("InvalidWebhookSigningKey", target+".signingKey", "A signingKey (at least %d characters) is required: every request is signed with HMAC-SHA256.", MinSigningKey)
	case len(a.SigningKey) < MinSigningKey || len(a.SigningKey) > MaxSigningKey:
		return invalid("InvalidWebhookSigningKey", target+".signingKey", "The signingKey must have %d to %d characters.", MinSigningKey, MaxSigningKey)
	}
	if a.MaxEvents == 0 {
		a.MaxEvents = DefaultMaxEvents
	}
	if a.MaxEvents < 1 || a.MaxEvents > MaxWebhookEvents {
		return invalid("InvalidWebhookMaxEvents", target+".maxEvents", "maxEvents must be from 1 to %d, got %d.", MaxWebhookEvents, a.MaxEvents)
	}
	return nil
}

// checkResourceID requires a well-formed ARM resource id, of one of types
// (lower case) when given.
func checkResourceID(s, target, code, what string, types ...string) error {
	if strings.TrimSpace(s) == "" {
		return invalid(code, target, "The resource id of %s is required.", what)
	}
	id, err := armid.Parse(s)
	if err != nil || !id.IsResource() || id.Parent != nil {
		return invalid(code, target, "'%s' is not a well-formed resource id of %s.", s, what)
	}
	if len(types) == 0 {
		return nil
	}
	t := strings.ToLower(id.Type())
	for _, want := range types {
		if t == want {
			return nil
		}
	}
	return invalid(code, target, "'%s' is not the resource id of %s.", s, what)
}

// checkHTTPS requires an absolute https URL with a host. Its errors never
// quote the URL (it carries a signature).
func checkHTTPS(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a valid URL")
	case !strings.EqualFold(u.Scheme, "https"):
		return fmt.Errorf("must be an https URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("has no host")
	case u.User != nil:
		return fmt.Errorf("must not carry user information")
	}
	return nil
}

// ConnectionString is a parsed Event Hubs connection string.
type ConnectionString struct {
	Endpoint   string // sb://host/
	Host       string
	KeyName    string
	Key        string
	Signature  string // SharedAccessSignature=…, instead of a key
	EntityPath string
	Emulator   bool // UseDevelopmentEmulator=true
	// Transport is TransportType: "", Amqp, AmqpWebSockets or Kafka (our
	// extension: deliver through the namespace's Kafka endpoint).
	Transport string
}

// ParseConnectionString parses
// Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]
// (keys in any order and case; SharedAccessSignature=… instead of the key
// pair; UseDevelopmentEmulator=true for the emulator; TransportType=Kafka
// for the Kafka endpoint). Its errors name the
// missing or malformed part, never a value.
func ParseConnectionString(s string) (*ConnectionString, error) {
	cs := &ConnectionString{}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("a part is not of the form Key=Value")
		}
		lk := strings.ToLower(strings.TrimSpace(k))
		if seen[lk] {
			return nil, fmt.Errorf("a key appears twice")
		}
		seen[lk] = true
		switch lk {
		case "endpoint":
			cs.Endpoint = strings.TrimSpace(v)
		case "sharedaccesskeyname":
			cs.KeyName = strings.TrimSpace(v)
		case "sharedaccesskey":
			cs.Key = strings.TrimSpace(v)
		case "sharedaccesssignature":
			cs.Signature = strings.TrimSpace(v)
		case "entitypath":
			cs.EntityPath = strings.TrimSpace(v)
		case "usedevelopmentemulator":
			cs.Emulator = strings.EqualFold(strings.TrimSpace(v), "true")
		case "transporttype":
			switch t := strings.TrimSpace(v); strings.ToLower(t) {
			case "amqp", "amqpwebsockets", "kafka":
				cs.Transport = t
			default:
				return nil, fmt.Errorf("its TransportType must be Amqp, AmqpWebSockets or Kafka")
			}
		default:
			return nil, fmt.Errorf("it has a key that is not one of Endpoint, SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, EntityPath, UseDevelopmentEmulator, TransportType")
		}
	}
	if cs.Endpoint == "" {
		return nil, fmt.Errorf("the Endpoint is missing")
	}
	u, err := url.Parse(cs.Endpoint)
	if err != nil || !strings.EqualFold(u.Scheme, "sb") || u.Hostname() == "" {
		return nil, fmt.Errorf("the Endpoint must be sb://<namespace host>/")
	}
	cs.Host = u.Host
	if cs.Emulator {
		return cs, nil
	}
	switch {
	case cs.Signature != "":
		if cs.Key != "" {
			return nil, fmt.Errorf("it has both a SharedAccessKey and a SharedAccessSignature")
		}
	case cs.KeyName == "" && cs.Key == "":
		return nil, fmt.Errorf("the SharedAccessKeyName and SharedAccessKey are missing")
	case cs.KeyName == "":
		return nil, fmt.Errorf("the SharedAccessKeyName is missing")
	case cs.Key == "":
		return nil, fmt.Errorf("the SharedAccessKey is missing")
	}
	return cs, nil
}
