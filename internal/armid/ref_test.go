package armid_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"sluice/internal/armid"
)

// This file keeps the first, plain form of Parse as a reference: the
// faster Parse must agree with it on every input, result and error alike.

var refGUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type refID = armid.ID

func refIsLiteral(seg, lit string) bool {
	return len(seg) == len(lit) && strings.EqualFold(seg, lit) && isASCII(seg)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func refValidateResourceGroupName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("resource group name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("resource group name %q is not valid UTF-8", name)
	case utf8.RuneCountInString(name) > 90:
		return fmt.Errorf("resource group name %q is longer than 90 characters", name)
	case strings.IndexFunc(name, func(r rune) bool {
		switch r {
		case '_', '-', '.', '(', ')':
			return false
		}
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) >= 0:
		return fmt.Errorf("resource group name %q may only contain letters, digits, '_', '-', '.', '(' and ')'", name)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("resource group name %q must not end with a period", name)
	}
	return nil
}
func refParse(s string) (*refID, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, &armid.Error{ID: s, Reason: "must start with '/'"}
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, &armid.Error{ID: s, Reason: "empty path segment"}
		}
	}
	id, rest, err := refParseScope(s, segs)
	if err != nil {
		return nil, err
	}
	for len(rest) > 0 {
		if !refIsLiteral(rest[0], "providers") {
			return nil, &armid.Error{ID: s, Reason: fmt.Sprintf("unexpected segment %q", rest[0])}
		}
		if len(rest) < 4 {
			return nil, &armid.Error{ID: s, Reason: "provider segment needs a namespace, a type and a name"}
		}
		child := &refID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Namespace: rest[1]}
		if id.Namespace != "" {
			p := *id
			child.Parent = &p
		}
		rest = rest[2:]
		for len(rest) > 0 && !refIsLiteral(rest[0], "providers") {
			if len(rest) < 2 {
				return nil, &armid.Error{ID: s, Reason: fmt.Sprintf("resource type %q has no name", rest[0])}
			}
			child.Types = append(child.Types, rest[0])
			child.Names = append(child.Names, rest[1])
			rest = rest[2:]
		}
		if len(child.Types) == 0 {
			return nil, &armid.Error{ID: s, Reason: "provider segment needs a namespace, a type and a name"}
		}
		id = child
	}
	return id, nil
}
func refParseScope(s string, segs []string) (*refID, []string, error) {
	id := &refID{}
	if len(segs) == 0 || segs[0] == "" {
		return nil, nil, &armid.Error{ID: s, Reason: "empty"}
	}
	if refIsLiteral(segs[0], "providers") {
		return id, segs, nil
	}
	if !refIsLiteral(segs[0], "subscriptions") {
		return nil, nil, &armid.Error{ID: s, Reason: fmt.Sprintf("unexpected segment %q", segs[0])}
	}
	if len(segs) < 2 {
		return nil, nil, &armid.Error{ID: s, Reason: "missing subscription id"}
	}
	if !refGUID.MatchString(segs[1]) {
		return nil, nil, &armid.Error{ID: s, Reason: fmt.Sprintf("subscription id %q is not a GUID", segs[1])}
	}
	id.Subscription = strings.ToLower(segs[1])
	rest := segs[2:]
	if len(rest) > 0 && refIsLiteral(rest[0], "resourceGroups") {
		if len(rest) < 2 {
			return nil, nil, &armid.Error{ID: s, Reason: "missing resource group name"}
		}
		if err := refValidateResourceGroupName(rest[1]); err != nil {
			return nil, nil, &armid.Error{ID: s, Reason: err.Error()}
		}
		id.ResourceGroup = rest[1]
		rest = rest[2:]
	}
	return id, rest, nil
}

// FuzzParse_matches_reference: Parse and the reference agree.
func FuzzParse_matches_reference(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) > 1 {
			if s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")")); err == nil {
				f.Add(s)
			}
		}
	}
	for _, s := range []string{"/subscriptions/" + sub + "/resourceGroups/rg(1)_-.x/providers/A.B/c/d/e/f/providers/G/h/i",
		"/subscriptions/" + subUpper + "/resourceGroups/" + strings.Repeat("r", 91), "/subscriptions/" + sub + "/resourceGroups/rg.",
		"/subscriptions/" + sub + "/resourceGroups/é", "/subscriptions/" + sub + "/providers/a/b", "/subscriptions/" + sub + "/providers/a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := armid.Parse(s)
		want, werr := refParse(s)
		if fmt.Sprint(err) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) = %+v, %v; the reference says %+v, %v", s, got, err, want, werr)
		}
	})
}
