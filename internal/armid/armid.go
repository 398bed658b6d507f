// Package armid parses and compares Azure Resource Manager resource IDs.
//
// ARM treats resource IDs, names and path segments case-insensitively, so
// every comparison here folds case while the original spelling is kept for
// display. IDs are parsed in this one place; handlers never split paths
// themselves.
package armid

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ID is a parsed ARM resource ID such as
// /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}…].
// Extension resources (a provider segment after a resource) are kept as a
// chain of Parent IDs.
type ID struct {
	// Subscription is the subscription GUID ("" for tenant-level IDs).
	Subscription string
	// ResourceGroup is the resource group name ("" when absent).
	ResourceGroup string
	// Namespace is the resource provider namespace, e.g. Microsoft.Security.
	Namespace string
	// Types are the resource type segments below the namespace, e.g.
	// ["automations"] or ["secureScores","secureScoreControls"].
	Types []string
	// Names are the names matching Types one for one.
	Names []string
	// Parent is the resource an extension resource is attached to, or nil.
	Parent *ID
}

// Error is returned for malformed IDs.
type Error struct {
	ID     string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("invalid resource id %q: %s", e.ID, e.Reason) }

// Parse parses an absolute ARM resource ID. Literal segments
// ("subscriptions", "resourceGroups", "providers") match ASCII
// case-insensitively: Unicode folds such as U+017F (long s) for "s" do not
// count, so that every ID Parse accepts folds to the same Key whether it is
// parsed or not.
func Parse(s string) (*ID, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, &Error{s, "must start with '/'"}
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, &Error{s, "empty path segment"}
		}
	}
	scope, rest, err := parseScope(s, segs)
	if err != nil {
		return nil, err
	}
	if len(rest) == 0 {
		id := scope
		return &id, nil
	}
	// cur is the ID the next provider segment attaches to; the scope is
	// only read through it (and copied), so it stays off the heap.
	cur := &scope
	var id *ID
	for len(rest) > 0 {
		if !isLiteral(rest[0], "providers") {
			return nil, &Error{s, fmt.Sprintf("unexpected segment %q", rest[0])}
		}
		if len(rest) < 4 {
			return nil, &Error{s, "provider segment needs a namespace, a type and a name"}
		}
		child := &ID{Subscription: cur.Subscription, ResourceGroup: cur.ResourceGroup, Namespace: rest[1]}
		if cur.Namespace != "" {
			p := *cur
			child.Parent = &p
		}
		rest = rest[2:]
		// One array for the types and names up to the next provider.
		n := 0
		for n < len(rest) && !isLiteral(rest[n], "providers") {
			n++
		}
		if k := (n + 1) / 2; k > 0 {
			back := make([]string, 2*k)
			child.Types, child.Names = back[:0:k], back[k:k:2*k]
		}
		for len(rest) > 0 && !isLiteral(rest[0], "providers") {
			if len(rest) < 2 {
				return nil, &Error{s, fmt.Sprintf("resource type %q has no name", rest[0])}
			}
			child.Types = append(child.Types, rest[0])
			child.Names = append(child.Names, rest[1])
			rest = rest[2:]
		}
		if len(child.Types) == 0 {
			return nil, &Error{s, "provider segment needs a namespace, a type and a name"}
		}
		id, cur = child, child
	}
	return id, nil
}

// isLiteral reports whether seg spells the ASCII literal lit, ignoring ASCII
// case only.
func isLiteral(seg, lit string) bool {
	if len(seg) != len(lit) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		a, b := seg[i], lit[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func parseScope(s string, segs []string) (ID, []string, error) {
	var id ID
	if len(segs) == 0 || segs[0] == "" {
		return ID{}, nil, &Error{s, "empty"}
	}
	if isLiteral(segs[0], "providers") {
		return id, segs, nil
	}
	if !isLiteral(segs[0], "subscriptions") {
		return ID{}, nil, &Error{s, fmt.Sprintf("unexpected segment %q", segs[0])}
	}
	if len(segs) < 2 {
		return ID{}, nil, &Error{s, "missing subscription id"}
	}
	if !IsGUID(segs[1]) {
		return ID{}, nil, &Error{s, fmt.Sprintf("subscription id %q is not a GUID", segs[1])}
	}
	id.Subscription = strings.ToLower(segs[1])
	rest := segs[2:]
	if len(rest) > 0 && isLiteral(rest[0], "resourceGroups") {
		if len(rest) < 2 {
			return ID{}, nil, &Error{s, "missing resource group name"}
		}
		if err := ValidateResourceGroupName(rest[1]); err != nil {
			return ID{}, nil, &Error{s, err.Error()}
		}
		id.ResourceGroup = rest[1]
		rest = rest[2:]
	}
	return id, rest, nil
}

// IsResource reports whether the ID names a provider resource (not just a
// subscription or resource group scope).
func (id *ID) IsResource() bool { return id.Namespace != "" }

// Type returns the full resource type, e.g. Microsoft.Security/automations.
func (id *ID) Type() string {
	if id.Namespace == "" {
		if id.ResourceGroup != "" {
			return "Microsoft.Resources/resourceGroups"
		}
		if id.Subscription != "" {
			return "Microsoft.Resources/subscriptions"
		}
		return ""
	}
	return id.Namespace + "/" + strings.Join(id.Types, "/")
}

// Name returns the last name segment.
func (id *ID) Name() string {
	if len(id.Names) > 0 {
		return id.Names[len(id.Names)-1]
	}
	if id.ResourceGroup != "" {
		return id.ResourceGroup
	}
	return id.Subscription
}

// String renders the ID in canonical form: literal segments in their ARM
// casing, names as given.
func (id *ID) String() string {
	var b strings.Builder
	if id.Parent != nil {
		b.WriteString(id.Parent.String())
	} else {
		if id.Subscription != "" {
			b.WriteString("/subscriptions/")
			b.WriteString(id.Subscription)
		}
		if id.ResourceGroup != "" {
			b.WriteString("/resourceGroups/")
			b.WriteString(id.ResourceGroup)
		}
	}
	if id.Namespace != "" {
		b.WriteString("/providers/")
		b.WriteString(id.Namespace)
		for i := range id.Types {
			b.WriteString("/")
			b.WriteString(id.Types[i])
			b.WriteString("/")
			b.WriteString(id.Names[i])
		}
	}
	return b.String()
}

// Key is the case-folded canonical form, suitable as a map or database key.
func (id *ID) Key() string { return strings.ToLower(id.String()) }

// Key folds an ID string to its comparison key without parsing it.
func Key(s string) string { return strings.ToLower(strings.TrimSuffix(s, "/")) }

// Equal compares two ID strings case-insensitively, exactly as their Keys
// compare (so Equal agrees with Contains and with stored keys).
func Equal(a, b string) bool { return Key(a) == Key(b) }

// Contains reports whether the resource named by child lies within scope
// (equal to it, or below it). Both are ID strings; comparison folds case.
func Contains(scope, child string) bool {
	s, c := Key(scope), Key(child)
	if s == c {
		return true
	}
	return strings.HasPrefix(c, s+"/")
}

// SubscriptionID returns the scope ID of a subscription.
func SubscriptionID(sub string) string { return "/subscriptions/" + strings.ToLower(sub) }

// ResourceGroupID returns the ID of a resource group.
func ResourceGroupID(sub, rg string) string {
	return "/subscriptions/" + strings.ToLower(sub) + "/resourceGroups/" + rg
}

// IsGUID reports whether s is a GUID in the 8-4-4-4-12 form: hex digits
// of either case, hyphens at offsets 8, 13, 18 and 23, nothing else.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ValidateResourceGroupName applies ARM's rules: 1–90 characters of letters,
// digits, underscores, hyphens, periods and parentheses, not ending in a
// period. As in ARM, letters and digits include non-ASCII ones (Unicode
// letters and decimal digits).
func ValidateResourceGroupName(name string) error {
	if validASCIIResourceGroupName(name) {
		return nil
	}
	switch {
	case name == "":
		return fmt.Errorf("resource group name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("resource group name %q is not valid UTF-8", name)
	case utf8.RuneCountInString(name) > 90:
		return fmt.Errorf("resource group name %q is longer than 90 characters", name)
	case strings.IndexFunc(name, notRGRune) >= 0:
		return fmt.Errorf("resource group name %q may only contain letters, digits, '_', '-', '.', '(' and ')'", name)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("resource group name %q must not end with a period", name)
	}
	return nil
}

// validASCIIResourceGroupName reports whether name is a valid resource
// group name of ASCII letters, digits, '_', '-', '.', '(' and ')' only (the
// common case ValidateResourceGroupName checks without decoding runes).
func validASCIIResourceGroupName(name string) bool {
	if name == "" || len(name) > 90 || name[len(name)-1] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '(' || c == ')') {
			return false
		}
	}
	return true
}

func notRGRune(r rune) bool {
	switch r {
	case '_', '-', '.', '(', ')':
		return false
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// ScopeOf returns the longest prefix of an ARM request path that parses as
// a resource ID or scope, e.g. the subscription of
// /subscriptions/{s}/resourceGroups (a collection path). It returns "" when
// no prefix parses.
func ScopeOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for n := len(segs); n > 0; n-- {
		p := "/" + strings.Join(segs[:n], "/")
		if _, err := Parse(p); err == nil {
			return p
		}
	}
	return ""
}
