package automation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"sluice/internal/armapi"
)

// The request model: every field optional, so that absence can be told
// from an empty value, and read-only fields (id, name, type, etag,
// systemData, sasPolicyName) simply not read. Unknown fields are ignored.

type inAutomation struct {
	Location   *string            `json:"location"`
	Kind       *string            `json:"kind"`
	Tags       map[string]*string `json:"tags"`
	Properties *inProperties      `json:"properties"`
}

type inProperties struct {
	Description *string      `json:"description"`
	IsEnabled   *bool        `json:"isEnabled"`
	Scopes      *[]inScope   `json:"scopes"`
	Sources     *[]*inSource `json:"sources"`
	Actions     *[]*inAction `json:"actions"`
}

type inScope struct {
	Description *string `json:"description"`
	ScopePath   *string `json:"scopePath"`
}

type inSource struct {
	EventSource *string      `json:"eventSource"`
	RuleSets    []*inRuleSet `json:"ruleSets"`
}

type inRuleSet struct {
	Rules []*inRule `json:"rules"`
}

type inRule struct {
	PropertyJPath *string     `json:"propertyJPath"`
	PropertyType  *string     `json:"propertyType"`
	ExpectedValue *flexString `json:"expectedValue"`
	Operator      *string     `json:"operator"`
}

type inAction struct {
	ActionType              *string `json:"actionType"`
	LogicAppResourceID      *string `json:"logicAppResourceId"`
	URI                     *string `json:"uri"`
	EventHubResourceID      *string `json:"eventHubResourceId"`
	ConnectionString        *string `json:"connectionString"`
	IsTrustedServiceEnabled *bool   `json:"isTrustedServiceEnabled"`
	WorkspaceResourceID     *string `json:"workspaceResourceId"`
	// Kafka (extension).
	Brokers *[]string `json:"brokers"`
	Topic   *string   `json:"topic"`
	SASL    *inSASL   `json:"sasl"`
	TLS     *inTLS    `json:"tls"`
	// Webhook (extension), with URI.
	SigningKey *string `json:"signingKey"`
	Batch      *bool   `json:"batch"`
	MaxEvents  *int    `json:"maxEvents"`
}

type inSASL struct {
	Mechanism *string `json:"mechanism"`
	Username  *string `json:"username"`
	Password  *string `json:"password"`
}

type inTLS struct {
	Enabled            *bool   `json:"enabled"`
	InsecureSkipVerify *bool   `json:"insecureSkipVerify"`
	CACertificate      *string `json:"caCertificate"`
}

// flexString accepts a JSON string, number or boolean (expectedValue is a
// string in the spec, but hand-written templates send 5 or true).
type flexString string

func (f *flexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case 't', 'f':
		*f = flexString(data)
	case '{', '[':
		kind := "object"
		if data[0] == '[' {
			kind = "array"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	default:
		*f = flexString(data) // a number, as written
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// invalidContent is the 400 of a body that is not the expected JSON.
func invalidContent(target, format string, args ...any) *armapi.Error {
	e := armapi.BadRequest("InvalidRequestContent", format, args...)
	e.Target = target
	return e
}

// decode unmarshals a request body; syntax and type errors become 400
// InvalidRequestContent naming the line and column or the property. The
// messages never quote the body's values.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidContent("", "The request content was invalid: the body is empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return armapi.JSONError(body, err)
	}
	return nil
}

// Parse reads the body of a PUT or validate request: an Automation with
// its secrets in clear. Enums are canonicalised later by Validate; what
// the client sent is what is stored and echoed (except actionType, which
// is always returned canonical).
func Parse(body []byte) (*Automation, error) {
	var in inAutomation
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	a := &Automation{Location: str(in.Location), Kind: str(in.Kind), Tags: map[string]string{}}
	for k, v := range in.Tags {
		a.Tags[k] = str(v)
	}
	a.Properties.IsEnabled = true
	if p := in.Properties; p != nil {
		if err := applyProperties(&a.Properties, p); err != nil {
			return nil, err
		}
	}
	normalise(a)
	return a, nil
}

// Patch is a parsed PATCH body: tags to merge and properties to replace.
type Patch struct {
	tags  map[string]*string
	props *inProperties
}

// ParsePatch reads a PATCH body ({"tags":…,"properties":…}; other fields,
// such as location or etag, are ignored).
func ParsePatch(body []byte) (*Patch, error) {
	var in inAutomation
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return &Patch{tags: in.Tags, props: in.Properties}, nil
}

// Apply merges the patch into a copy of a: tags key by key (a null value
// removes the tag), and each property that is present (and not null)
// replaces the stored one — scopes, sources and actions as whole lists.
func (p *Patch) Apply(a *Automation) (*Automation, error) {
	out := a.clone()
	for k, v := range p.tags {
		if v == nil {
			delete(out.Tags, k)
		} else {
			out.Tags[k] = *v
		}
	}
	if p.props != nil {
		if err := applyProperties(&out.Properties, p.props); err != nil {
			return nil, err
		}
	}
	normalise(out)
	return out, nil
}

func applyProperties(dst *Properties, p *inProperties) error {
	if p.Description != nil {
		dst.Description = *p.Description
	}
	if p.IsEnabled != nil {
		dst.IsEnabled = *p.IsEnabled
	}
	if p.Scopes != nil {
		dst.Scopes = []Scope{}
		for _, s := range *p.Scopes {
			dst.Scopes = append(dst.Scopes, Scope{Description: str(s.Description), ScopePath: str(s.ScopePath)})
		}
	}
	if p.Sources != nil {
		dst.Sources = []Source{}
		for i, s := range *p.Sources {
			if s == nil {
				return invalidContent(fmt.Sprintf("properties.sources[%d]", i), "The request content was invalid: properties.sources[%d] is null.", i)
			}
			src := Source{EventSource: str(s.EventSource), RuleSets: []RuleSet{}}
			for j, rs := range s.RuleSets {
				set := RuleSet{Rules: []Rule{}}
				if rs == nil {
					return invalidContent(fmt.Sprintf("properties.sources[%d].ruleSets[%d]", i, j),
						"The request content was invalid: properties.sources[%d].ruleSets[%d] is null.", i, j)
				}
				for k, r := range rs.Rules {
					if r == nil {
						return invalidContent(fmt.Sprintf("properties.sources[%d].ruleSets[%d].rules[%d]", i, j, k),
							"The request content was invalid: properties.sources[%d].ruleSets[%d].rules[%d] is null.", i, j, k)
					}
					rule := Rule{PropertyJPath: str(r.PropertyJPath), PropertyType: str(r.PropertyType), Operator: str(r.Operator)}
					if r.ExpectedValue != nil {
						rule.ExpectedValue = string(*r.ExpectedValue)
					}
					set.Rules = append(set.Rules, rule)
				}
				src.RuleSets = append(src.RuleSets, set)
			}
			dst.Sources = append(dst.Sources, src)
		}
	}
	if p.Actions != nil {
		dst.Actions = []Action{}
		for i, in := range *p.Actions {
			if in == nil {
				return invalidContent(fmt.Sprintf("properties.actions[%d]", i), "The request content was invalid: properties.actions[%d] is null.", i)
			}
			act := Action{ActionType: strings.TrimSpace(str(in.ActionType))}
			if c, ok := canonical(ActionTypes, act.ActionType); ok {
				act.ActionType = c
			}
			switch act.ActionType {
			case ActionLogicApp:
				act.LogicAppResourceID, act.URI = str(in.LogicAppResourceID), str(in.URI)
			case ActionEventHub:
				act.EventHubResourceID, act.ConnectionString = str(in.EventHubResourceID), str(in.ConnectionString)
				act.IsTrustedServiceEnabled = in.IsTrustedServiceEnabled != nil && *in.IsTrustedServiceEnabled
			case ActionWorkspace:
				act.WorkspaceResourceID = str(in.WorkspaceResourceID)
			case ActionKafka:
				applyKafka(&act, in)
			case ActionWebhook:
				act.URI, act.SigningKey = strings.TrimSpace(str(in.URI)), str(in.SigningKey)
				act.Batch = in.Batch != nil && *in.Batch
				if in.MaxEvents != nil {
					act.MaxEvents = *in.MaxEvents
				}
			}
			dst.Actions = append(dst.Actions, act)
		}
	}
	return nil
}

// applyKafka reads a Kafka action. The SASL mechanism is made canonical
// when it is known (Validate rejects the others).
func applyKafka(act *Action, in *inAction) {
	if in.Brokers != nil {
		act.Brokers = make([]string, len(*in.Brokers))
		for i, b := range *in.Brokers {
			act.Brokers[i] = strings.TrimSpace(b)
		}
	}
	act.Topic = strings.TrimSpace(str(in.Topic))
	if in.SASL != nil {
		act.SASLMechanism = strings.TrimSpace(str(in.SASL.Mechanism))
		if c, ok := canonical(SASLMechanisms, act.SASLMechanism); ok {
			act.SASLMechanism = c
		}
		act.SASLUsername, act.SASLPassword = str(in.SASL.Username), str(in.SASL.Password)
	}
	if in.TLS != nil {
		act.TLSEnabled = in.TLS.Enabled != nil && *in.TLS.Enabled
		act.TLSInsecureSkipVerify = in.TLS.InsecureSkipVerify != nil && *in.TLS.InsecureSkipVerify
		act.TLSCACertificate = strings.TrimSpace(str(in.TLS.CACertificate))
	}
}

// normalise fills the lists and maps the response always carries.
func normalise(a *Automation) {
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	p := &a.Properties
	if p.Scopes == nil {
		p.Scopes = []Scope{}
	}
	if p.Sources == nil {
		p.Sources = []Source{}
	}
	for i := range p.Sources {
		if p.Sources[i].RuleSets == nil {
			p.Sources[i].RuleSets = []RuleSet{}
		}
		for j := range p.Sources[i].RuleSets {
			if p.Sources[i].RuleSets[j].Rules == nil {
				p.Sources[i].RuleSets[j].Rules = []Rule{}
			}
		}
	}
	if p.Actions == nil {
		p.Actions = []Action{}
	}
}

// clone deep-copies a.
func (a *Automation) clone() *Automation {
	out := *a
	out.Tags = make(map[string]string, len(a.Tags))
	for k, v := range a.Tags {
		out.Tags[k] = v
	}
	if a.SystemData != nil {
		sd := *a.SystemData
		out.SystemData = &sd
	}
	p := &out.Properties
	p.Scopes = append([]Scope{}, a.Properties.Scopes...)
	p.Actions = append([]Action{}, a.Properties.Actions...)
	p.Sources = make([]Source, len(a.Properties.Sources))
	for i, s := range a.Properties.Sources {
		p.Sources[i] = Source{EventSource: s.EventSource, RuleSets: make([]RuleSet, len(s.RuleSets))}
		for j, rs := range s.RuleSets {
			p.Sources[i].RuleSets[j] = RuleSet{Rules: append([]Rule{}, rs.Rules...)}
		}
	}
	return &out
}

// formatNumber renders a float the way rules compare numbers as text.
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
