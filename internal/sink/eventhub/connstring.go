package eventhub

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ConnectionString is a parsed Event Hubs connection string:
//
//	Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<policy>;SharedAccessKey=<key>;EntityPath=<hub>
//
// optionally with UseDevelopmentEmulator=true (plain AMQP to the endpoint's
// host and port), SharedAccessSignature=<token> instead of a key, and
// TransportType=Kafka (Sluice's extension: deliver through the Kafka
// endpoint).
type ConnectionString struct {
	// Endpoint is the Endpoint value as written.
	Endpoint string
	// Namespace is the endpoint's host (with its port, if any).
	Namespace             string
	SharedAccessKeyName   string
	SharedAccessKey       string
	SharedAccessSignature string
	// EntityPath is the event hub.
	EntityPath             string
	UseDevelopmentEmulator bool
	// TransportType is "", "Amqp", "AmqpWebSockets" or "Kafka".
	TransportType string
}

// Kafka reports whether the connection string asks for the Kafka endpoint.
func (c ConnectionString) Kafka() bool { return strings.EqualFold(c.TransportType, "Kafka") }

// Secrets are the values to redact from anything derived from c.
func (c ConnectionString) Secrets() []string {
	var out []string
	for _, s := range []string{c.SharedAccessKey, c.SharedAccessSignature} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// hubName follows the Event Hubs naming rules: letters, digits, periods,
// hyphens and underscores, starting and ending with a letter or digit.
var hubName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$`)

// knownKeys maps the keys Sluice reads (lower case) to their spelling in
// messages; only these are ever named in an error.
var knownKeys = map[string]string{
	"endpoint": "Endpoint", "sharedaccesskeyname": "SharedAccessKeyName", "sharedaccesskey": "SharedAccessKey",
	"sharedaccesssignature": "SharedAccessSignature", "entitypath": "EntityPath",
	"usedevelopmentemulator": "UseDevelopmentEmulator", "transporttype": "TransportType",
}

// ParseConnectionString parses and checks an Event Hubs connection string.
// Errors name the offending key but never echo a value, so they can be
// shown to the caller as they are.
func ParseConnectionString(s string) (ConnectionString, error) {
	var cs ConnectionString
	if strings.TrimSpace(s) == "" {
		return cs, errors.New("connection string is empty")
	}
	seen := map[string]bool{}
	for i, seg := range strings.Split(s, ";") {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return cs, fmt.Errorf("connection string part %d is not Key=Value", i+1)
		}
		canon := strings.ToLower(k)
		if name, known := knownKeys[canon]; known {
			if seen[canon] {
				return cs, fmt.Errorf("connection string sets %s twice", name)
			}
			seen[canon] = true
		}
		v = strings.TrimSpace(v)
		switch canon {
		case "endpoint":
			cs.Endpoint = v
		case "sharedaccesskeyname":
			cs.SharedAccessKeyName = v
		case "sharedaccesskey":
			cs.SharedAccessKey = v
		case "sharedaccesssignature":
			cs.SharedAccessSignature = v
		case "entitypath":
			cs.EntityPath = v
		case "usedevelopmentemulator":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cs, errors.New("connection string: UseDevelopmentEmulator must be true or false")
			}
			cs.UseDevelopmentEmulator = b
		case "transporttype":
			switch strings.ToLower(v) {
			case "amqp", "amqpwebsockets", "kafka":
				cs.TransportType = v
			default:
				return cs, errors.New("connection string: TransportType must be Amqp, AmqpWebSockets or Kafka")
			}
		}
		// Other keys are ignored, as the Azure SDKs do.
	}
	if cs.Endpoint == "" {
		return cs, errors.New("connection string has no Endpoint (expected Endpoint=sb://<namespace>.servicebus.windows.net/)")
	}
	u, err := url.Parse(cs.Endpoint)
	if err != nil || !strings.EqualFold(u.Scheme, "sb") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return cs, errors.New("connection string: Endpoint must be an sb:// URL such as sb://<namespace>.servicebus.windows.net/")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return cs, errors.New("connection string: Endpoint must name the namespace only; put the event hub in EntityPath")
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n <= 0 || n > 65535 {
			return cs, errors.New("connection string: Endpoint has an invalid port")
		}
	}
	cs.Namespace = u.Host
	switch {
	case cs.SharedAccessSignature != "" && cs.SharedAccessKey != "":
		return cs, errors.New("connection string sets both SharedAccessKey and SharedAccessSignature; use one")
	case cs.SharedAccessSignature != "":
		if !strings.HasPrefix(cs.SharedAccessSignature, "SharedAccessSignature ") {
			return cs, errors.New("connection string: SharedAccessSignature must start with \"SharedAccessSignature sr=\"")
		}
	case cs.SharedAccessKeyName == "":
		return cs, errors.New("connection string has no SharedAccessKeyName")
	case cs.SharedAccessKey == "":
		return cs, errors.New("connection string has no SharedAccessKey")
	}
	if cs.EntityPath == "" {
		return cs, errors.New("connection string has no EntityPath: use the connection string of a shared access policy of the event hub itself, not of its namespace")
	}
	if !hubName.MatchString(cs.EntityPath) {
		return cs, errors.New("connection string: EntityPath is not a valid event hub name (letters, digits, '.', '-', '_'; at most 256 characters)")
	}
	return cs, nil
}
