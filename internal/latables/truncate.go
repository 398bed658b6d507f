package latables

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MaxRecordBytes is the Log Analytics record size limit (32 KB).
const MaxRecordBytes = 32 * 1024

// Cut describes one truncated column.
type Cut struct {
	Column string
	// Original is the byte length of the column's text before truncation.
	Original int
	// Removed is how many of those bytes were cut.
	Removed int
}

// Marker is the text appended to a truncated value: it tells a reader how
// many bytes Sluice removed.
func Marker(removed int) string {
	return fmt.Sprintf("…[truncated by Sluice: %d bytes]", removed)
}

// FitStream truncates the row's largest string and dynamic Data columns,
// the largest first, until its Logs Ingestion record (AppendStreamJSON) is
// at most limit bytes. Each truncated value ends with Marker; a truncated
// dynamic value becomes a string (its cut JSON text plus the marker). It
// returns the cuts made, in column order, or an error when the columns that
// cannot be cut (numbers, dates, names) alone exceed the limit.
func (r *Row) FitStream(limit int) ([]Cut, error) {
	r.stream = nil
	defer func() { r.stream = nil }()
	size := r.StreamSize()
	if size <= limit {
		return nil, nil
	}
	originals := map[int]string{}
	removed := map[int]int{}
	exhausted := map[int]bool{}
	for size > limit {
		best, bestLen := -1, 0
		for _, i := range r.Table.stream {
			if exhausted[i] {
				continue
			}
			if _, ok := textOf(r.Values[i]); !ok {
				continue
			}
			if l := valueLen(r.Values[i]); l > bestLen {
				best, bestLen = i, l
			}
		}
		if best < 0 {
			return r.cuts(originals, removed), fmt.Errorf("latables: a %s record of %d bytes cannot be cut to %d bytes", r.Table.Name, size, limit)
		}
		orig, seen := originals[best]
		if !seen {
			orig, _ = textOf(r.Values[best])
			originals[best] = orig
		}
		target := bestLen - (size - limit)
		budget := target - 2 - (quotedLen(Marker(len(orig))) - 2)
		prefix := prefixWithin(orig, budget)
		if prefix == "" {
			exhausted[best] = true
		}
		removed[best] = len(orig) - len(prefix)
		r.Values[best] = prefix + Marker(removed[best])
		size = r.StreamSize()
	}
	return r.cuts(originals, removed), nil
}

func (r *Row) cuts(originals map[int]string, removed map[int]int) []Cut {
	out := make([]Cut, 0, len(originals))
	for i, orig := range originals {
		out = append(out, Cut{Column: r.Table.Columns[i].Name, Original: len(orig), Removed: removed[i]})
	}
	sort.Slice(out, func(a, b int) bool { return r.Table.Index(out[a].Column) < r.Table.Index(out[b].Column) })
	return out
}

// textOf returns the text of a value that can be truncated.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.RawMessage:
		return string(x), true
	}
	return "", false
}

// prefixWithin returns the longest prefix of s, cut at a character
// boundary, whose JSON-escaped length is at most budget.
func prefixWithin(s string, budget int) string {
	if budget <= 0 {
		return ""
	}
	n, i := 0, 0
	for i < len(s) {
		e, size := runeLen(s, i)
		if n+e > budget {
			break
		}
		n += e
		i += size
	}
	return s[:i]
}
