package estate

import (
	"strings"

	"sluice/internal/armapi"
)

// rgFilter is the $filter of a resource group list. ARM accepts
// "tagName eq 'name'", optionally with "and tagValue eq 'value'". Tag names
// compare case-insensitively, tag values exactly.
type rgFilter struct {
	tagName  string
	tagValue *string
}

func (f *rgFilter) match(rg *ResourceGroup) bool {
	if f == nil {
		return true
	}
	for k, v := range rg.Tags {
		if strings.EqualFold(k, f.tagName) && (f.tagValue == nil || *f.tagValue == v) {
			return true
		}
	}
	return false
}

func badFilter(s string) *armapi.Error {
	return armapi.BadRequest("InvalidFilterInQueryString",
		"The $filter '%s' is not supported: use tagName eq '{name}', optionally followed by and tagValue eq '{value}'.", s)
}

// parseRGFilter parses s; "" is no filter.
func parseRGFilter(s string) (*rgFilter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, ok := filterTokens(s)
	if !ok {
		return nil, badFilter(s)
	}
	f := &rgFilter{}
	var haveName bool
	for len(toks) > 0 {
		if len(toks) < 3 || toks[0].quoted || toks[1].quoted || !strings.EqualFold(toks[1].text, "eq") || !toks[2].quoted {
			return nil, badFilter(s)
		}
		switch v := toks[2].text; {
		case strings.EqualFold(toks[0].text, "tagName") && !haveName:
			f.tagName, haveName = v, true
		case strings.EqualFold(toks[0].text, "tagValue") && f.tagValue == nil:
			f.tagValue = &v
		default:
			return nil, badFilter(s)
		}
		toks = toks[3:]
		if len(toks) > 0 {
			if toks[0].quoted || !strings.EqualFold(toks[0].text, "and") || len(toks) == 1 {
				return nil, badFilter(s)
			}
			toks = toks[1:]
		}
	}
	if !haveName {
		return nil, badFilter(s)
	}
	return f, nil
}

type filterToken struct {
	text   string
	quoted bool
}

// filterTokens splits s into words and single-quoted strings, in which a
// doubled quote stands for one; ok is false for an unterminated string.
func filterTokens(s string) ([]filterToken, bool) {
	var toks []filterToken
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, false
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\'' {
				j++
			}
			toks = append(toks, filterToken{text: s[i:j]})
			i = j
		}
	}
	return toks, true
}
