package automation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"sluice/internal/armapi"
	"sluice/internal/export"
)

const fuzzSub = "00000000-0000-0000-0000-000000000000"

// mustBe400 fails unless err is a 400 *armapi.Error with a code and message.
func mustBe400(t *testing.T, what string, err error) {
	t.Helper()
	var ae *armapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code == "" || ae.Message == "" {
		t.Fatalf("%s: rejection is not a 400 with a code and message: %#v", what, err)
	}
}

// FuzzParse feeds request bodies to the parser, the validation, the
// compiler and the PATCH merge: no panic, every rejection a 400, and what
// is accepted compiles and renders without its secrets.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "samples", "api-*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var s struct {
			Parameters struct {
				Automation json.RawMessage `json:"Automation"`
			} `json:"parameters"`
		}
		if json.Unmarshal(data, &s) == nil && len(s.Parameters.Automation) > 0 {
			f.Add(string(s.Parameters.Automation))
		} else {
			f.Add(string(data))
		}
	}
	f.Add(`{"location":"x","properties":{"scopes":[{"scopePath":"/subscriptions/00000000-0000-0000-0000-000000000000"}],` +
		`"sources":[{"eventSource":"alerts","ruleSets":[{"rules":[{"propertyJPath":"a[0].b","propertyType":"integer","operator":"lesserthan","expectedValue":5}]}]}],` +
		`"actions":[{"actionType":"eventhub","eventHubResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n",` +
		`"connectionString":"Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey=s"}]}}`)
	f.Add(`{"properties":{"sources":[null]}}`)
	f.Add(`[]`)
	f.Add(`{"tags":{"a":null},"properties":{"isEnabled":"no"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := Parse([]byte(body))
		if err != nil {
			mustBe400(t, "Parse", err)
		} else {
			checkAccepted(t, a)
		}
		p, err := ParsePatch([]byte(body))
		if err != nil {
			mustBe400(t, "ParsePatch", err)
			return
		}
		base, _ := Parse([]byte(`{"location":"westeurope","properties":{"scopes":[{"scopePath":"/subscriptions/` + fuzzSub + `"}],` +
			`"sources":[{"eventSource":"Alerts"}],"actions":[{"actionType":"Workspace","workspaceResourceId":"/subscriptions/` + fuzzSub +
			`/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w"}]}}`))
		merged, err := p.Apply(base)
		if err != nil {
			mustBe400(t, "Patch.Apply", err)
			return
		}
		checkAccepted(t, merged)
	})
}

func checkAccepted(t *testing.T, a *Automation) {
	t.Helper()
	if err := Validate(a, fuzzSub); err != nil {
		mustBe400(t, "Validate", err)
		return
	}
	a.ID = "/subscriptions/" + fuzzSub + "/resourceGroups/rg/providers/Microsoft.Security/automations/fuzz"
	x, err := Compile(a)
	if err != nil {
		t.Fatalf("a valid automation does not compile: %v", err)
	}
	for _, src := range EventSources {
		x.Match(src, NewDocument([]byte(`{"a":[{"b":1}],"Severity":"High"}`), nil))
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	for _, act := range a.Properties.Actions {
		if s := act.Secret(); s != "" && bytes.Contains(out, []byte(s)) {
			t.Fatalf("rendered a secret")
		}
	}
}

// hasDuplicateKeys reports whether some object of doc repeats a name
// (decoders keep the last, the raw scanner the first).
func hasDuplicateKeys(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true // treat undecodable as "skip"
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.obj && top.expect
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.obj {
					top.expect = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
				continue
			case '[':
				if top != nil && top.obj {
					top.expect = true
				}
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if isKey {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.expect = false
				continue
			}
		}
		if top != nil && top.obj {
			top.expect = true
		}
	}
}

// fuzzExtra plays the rule-only fields of an alert.
var fuzzExtra = []byte(`{"ProductComponentName":"Storage","Version":"3.0","severity":"low","SEVERITY":"x","a":{"b":[2]},"n":"5","Techniques":["T1"]}`)

// FuzzJPath compiles propertyJPath values and evaluates them on documents:
// no panic, every rejection a 400 from the rule compiler, and the lazy raw
// Document agrees with the decoded document the engine would otherwise use.
func FuzzJPath(f *testing.F) {
	doc := `{"Severity":"High","severity":"low","a":{"b":[1,{"c":"x\u00e9"}]},"Entities":[{"Type":"host"}],"n":-0.5e2,"t":true,"z":null}`
	for _, p := range []string{"Severity", "severity", "SEVERITY", "properties.metadata.severity", "entities[0].type", "Entities[-1].Type",
		"$.a.b", "$['a']['b'][1].c", "a.b[1].C", "a.b[*]", "$..c", "a[?(@.b)]", "a.b[0:2]", "n", "t", "z", "$", "", " a ", "a b", "[0]", "a.'b'", "a[(x)]"} {
		f.Add(p, doc)
	}
	f.Add("a.b", `{"a":{"b":"\ud800"}}`)
	f.Add("a", `[{"a":1}]`)
	f.Add("a.b", `{"a":{"b":"x","b":"y"}}`)
	f.Add("x", `{"x":1e400}`)
	f.Fuzz(func(t *testing.T, path, body string) {
		for _, typ := range PropertyTypes {
			for _, op := range Operators {
				for _, exp := range []string{"high", "1", "true"} {
					r, err := compileRule(Rule{PropertyJPath: path, PropertyType: typ, Operator: op, ExpectedValue: exp}, "rule")
					if err != nil {
						mustBe400(t, "compileRule", err)
						continue
					}
					for _, extra := range [][]byte{nil, fuzzExtra} {
						raw := r.test(NewDocument([]byte(body), extra))
						if !utf8.ValidString(body) || hasDuplicateKeys([]byte(body)) {
							continue
						}
						var v any
						if json.Unmarshal([]byte(body), &v) != nil {
							continue
						}
						dec := r.test(export.Document([]byte(body), extra))
						if raw != dec {
							t.Fatalf("path %q %s %s %q on %s + %s: raw %v, decoded %v", path, typ, op, exp, body, extra, raw, dec)
						}
					}
				}
			}
		}
	})
}
