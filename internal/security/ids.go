package security

import (
	"strings"

	"sluice/internal/armid"
)

// This file splits the IDs of ingested records in one pass and one
// armid.Parse for the common case: ASCII IDs that are valid. Everything
// else goes through ParseAssessmentID and friends, which word the errors;
// both agree on every ID the quick path accepts (ids_test.go).

// lastIndexFold returns the index of the last instance of lower (ASCII,
// lower case) in s ignoring ASCII case, or -1; ascii is false when s has a
// non-ASCII byte (strings.ToLower could then move the indexes).
func lastIndexFold(s, lower string) (i int, ascii bool) {
	i = -1
	for j := 0; j < len(s); j++ {
		if s[j] >= 0x80 {
			return -1, false
		}
	}
	for j := len(s) - len(lower); j >= 0; j-- {
		if hasFoldPrefix(s[j:], lower) {
			return j, true
		}
	}
	return i, true
}

// hasFoldPrefix reports whether s starts with lower ignoring ASCII case.
func hasFoldPrefix(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for k := 0; k < len(lower); k++ {
		c := s[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[k] {
			return false
		}
	}
	return true
}

// assessmentsAt returns where the last assessments marker of an ASCII ID
// starts, or -1 when there is none, it starts the ID, or the ID is not
// ASCII (the quick splits then step aside).
func assessmentsAt(id string) int {
	i, ascii := lastIndexFold(id, assessmentsMarker)
	if !ascii || i <= 0 {
		return -1
	}
	return i
}

// quickAssessmentID splits a valid ASCII assessment ID into the assessed
// resource (parsed, in a subscription) and the key, as ParseAssessmentID
// followed by resourceID would; ok is false when they might not agree or
// would fail.
func quickAssessmentID(id string) (resource, key string, rid *armid.ID, ok bool) {
	i := assessmentsAt(id)
	if i < 0 {
		return "", "", nil, false
	}
	resource, key = id[:i], id[i+len(assessmentsMarker):]
	if key == "" || strings.Contains(key, "/") {
		return "", "", nil, false
	}
	rid, err := armid.Parse(resource)
	if err != nil || rid.Subscription == "" {
		return "", "", nil, false
	}
	return resource, key, rid, true
}
