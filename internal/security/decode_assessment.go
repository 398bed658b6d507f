package security

import (
	"encoding/json"
	"strings"
)

// This file decodes the common shape of an ingested assessment without
// reflection. It accepts only input whose decoding cannot differ from
// json.Unmarshal's: keys spelled exactly as the struct tags, each once,
// values of the field's type (or null where that is a no-op), no metadata
// or partner data. Anything else returns false and the caller decodes with
// encoding/json, which also words the errors. decode_assessment_test.go
// compares both.

// members calls set for every member of o whose key is one of names. It
// returns false when a key equals a name only ignoring case (encoding/json
// would match it), when a name appears twice, or when set fails; other
// keys are ignored as encoding/json ignores them.
func members(o Object, names []string, set func(name string, v any) bool) bool {
	var seen uint32
	for _, m := range o {
		for i, n := range names {
			if m.Key == n {
				if seen&(1<<i) != 0 || !set(n, m.Value) {
					return false
				}
				seen |= 1 << i
				break
			}
			if strings.EqualFold(m.Key, n) {
				return false
			}
		}
	}
	return true
}

// setString stores a string value; null leaves the field as it is.
func setString(dst *string, v any) bool {
	switch t := v.(type) {
	case string:
		*dst = t
		return true
	case nil:
		return true
	}
	return false
}

// object returns an object value; null is a nil Object with ok set.
func object(v any) (Object, bool) {
	switch t := v.(type) {
	case Object:
		return t, true
	case nil:
		return nil, true
	}
	return nil, false
}

func setTime(dst **Time, v any) bool {
	switch t := v.(type) {
	case nil:
		*dst = nil
		return true
	case string:
		tm, err := ParseTime(t)
		if err != nil {
			return false
		}
		*dst = &Time{tm}
		return true
	}
	return false
}

var (
	assessmentNames = []string{"id", "name", "type", "properties"}
	propertiesNames = []string{"resourceDetails", "displayName", "status", "additionalData", "metadata", "partnersData", "links"}
	detailsNames    = []string{"source", "id", "resourceName", "resourceType", "resourceProvider", "nativeResourceId",
		"machineName", "sourceComputerId", "vmuuid", "workspaceId", "serverName", "databaseName"}
	statusNames = []string{"code", "cause", "description", "firstEvaluationDate", "statusChangeDate"}
	linksNames  = []string{"azurePortalUri"}
)

// decodeAssessmentFast decodes raw into an Assessment when it can do so
// exactly as json.Unmarshal would; false means use json.Unmarshal.
func decodeAssessmentFast(raw []byte) (*Assessment, bool) {
	if len(raw) > MaxRecordSize {
		return nil, false
	}
	// decodeFast checks everything but the numbers' syntax and the
	// nesting depth encoding/json allows: plainValues does.
	v, err := decodeFast(raw)
	if err != nil || !plainValues(v, 1) {
		return nil, false
	}
	top, ok := v.(Object)
	if !ok {
		return nil, false
	}
	a := &Assessment{}
	p := &a.Properties
	ok = members(top, assessmentNames, func(name string, v any) bool {
		switch name {
		case "id":
			return setString(&a.ID, v)
		case "name":
			return setString(&a.Name, v)
		case "type":
			return setString(&a.Type, v)
		}
		o, ok := object(v)
		return ok && members(o, propertiesNames, func(name string, v any) bool {
			switch name {
			case "displayName":
				return setString(&p.DisplayName, v)
			case "metadata", "partnersData":
				return v == nil
			case "additionalData":
				o, ok := v.(Object)
				if !ok {
					return false
				}
				m := make(StringMap, 0, len(o))
				for _, mem := range o {
					s, ok := mem.Value.(string)
					if !ok && mem.Value != nil {
						return false
					}
					m = append(m, StringPair{mem.Key, s})
				}
				p.AdditionalData = m
				return true
			case "links":
				o, ok := object(v)
				if !ok {
					return false
				}
				if o == nil {
					p.Links = nil
					return true
				}
				p.Links = &AssessmentLinks{}
				return members(o, linksNames, func(_ string, v any) bool { return setString(&p.Links.AzurePortalURI, v) })
			case "status":
				o, ok := object(v)
				st := &p.Status
				return ok && members(o, statusNames, func(name string, v any) bool {
					switch name {
					case "code":
						var c string
						if !setString(&c, v) {
							return false
						}
						if v != nil {
							st.Code = StatusCode(c)
						}
						return true
					case "cause":
						return setString(&st.Cause, v)
					case "description":
						return setString(&st.Description, v)
					case "firstEvaluationDate":
						return setTime(&st.FirstEvaluationDate, v)
					}
					return setTime(&st.StatusChangeDate, v)
				})
			}
			o, ok := object(v)
			d := &p.ResourceDetails
			fields := [...]*string{&d.Source, &d.ID, &d.ResourceName, &d.ResourceType, &d.ResourceProvider, &d.NativeResourceID,
				&d.MachineName, &d.SourceComputerID, &d.Vmuuid, &d.WorkspaceID, &d.ServerName, &d.DatabaseName}
			return ok && members(o, detailsNames, func(name string, v any) bool {
				for i, n := range detailsNames {
					if n == name {
						return setString(fields[i], v)
					}
				}
				return false
			})
		})
	})
	if !ok {
		return nil, false
	}
	return a, true
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// plainValues reports whether every number in v is valid JSON and v nests
// no deeper than encoding/json accepts.
func plainValues(v any, depth int) bool {
	switch t := v.(type) {
	case Object:
		if depth > maxDepth {
			return false
		}
		for _, m := range t {
			if !plainValues(m.Value, depth+1) {
				return false
			}
		}
	case []any:
		if depth > maxDepth {
			return false
		}
		for _, e := range t {
			if !plainValues(e, depth+1) {
				return false
			}
		}
	case json.Number:
		return validNumber(string(t))
	}
	return true
}

// validNumber reports whether s is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// decodeAssessmentScan decodes raw into an Assessment in one pass when it
// can do so exactly as json.Unmarshal would (the same subset as
// decodeAssessmentFast); props reports whether a "properties" member is
// present and not null, which is what requireObject checks of a line the
// subset accepts. ok false means use the slower paths.
func decodeAssessmentScan(raw []byte) (a *Assessment, props, ok bool) {
	if len(raw) > MaxRecordSize {
		return nil, false, false
	}
	a = &Assessment{}
	p := &a.Properties
	sc := &scanner{s: string(raw)}
	if props, ok = sc.resource(&a.ID, &a.Name, &a.Type, propertiesNames, func(i int) bool { return sc.assessmentProperty(p, i) }); !ok {
		return nil, false, false
	}
	return a, props, true
}

// resource reads a whole line holding an ARM resource object: its id, name
// and type, and the members of its properties (names) through prop. props
// reports whether properties is present and not null.
func (sc *scanner) resource(id, name, typ *string, names []string, prop func(i int) bool) (props, ok bool) {
	if sc.peek() != '{' {
		return false, false
	}
	_, ok = sc.fields(0, assessmentNames, func(i int) bool {
		switch i {
		case 0:
			return sc.optID(id)
		case 1:
			return sc.optString(name)
		case 2:
			return sc.optString(typ)
		}
		present, ok := sc.fields(1, names, prop)
		props = present
		return ok
	})
	return props, ok && sc.end()
}

// assessmentProperty reads the value of propertiesNames[i] into p (depth
// 2: the members of properties).
func (sc *scanner) assessmentProperty(p *AssessmentProperties, i int) bool {
	switch propertiesNames[i] {
	case "displayName":
		return sc.optString(&p.DisplayName)
	case "metadata", "partnersData":
		return sc.null()
	case "additionalData":
		if sc.peek() != '{' {
			return false
		}
		m, ok := sc.stringMap()
		p.AdditionalData = m
		return ok
	case "links":
		if sc.null() {
			p.Links = nil
			return true
		}
		p.Links = &AssessmentLinks{}
		_, ok := sc.fields(2, linksNames, func(int) bool { return sc.optString(&p.Links.AzurePortalURI) })
		return ok
	case "status":
		st := &p.Status
		_, ok := sc.fields(2, statusNames, func(i int) bool {
			switch i {
			case 0:
				if sc.null() {
					return true
				}
				c, ok := sc.str()
				st.Code = StatusCode(c)
				return ok
			case 1:
				return sc.optString(&st.Cause)
			case 2:
				return sc.optString(&st.Description)
			case 3:
				return sc.optTime(&st.FirstEvaluationDate)
			}
			return sc.optTime(&st.StatusChangeDate)
		})
		return ok
	}
	d := &p.ResourceDetails
	fields := [...]*string{&d.Source, &d.ID, &d.ResourceName, &d.ResourceType, &d.ResourceProvider, &d.NativeResourceID,
		&d.MachineName, &d.SourceComputerID, &d.Vmuuid, &d.WorkspaceID, &d.ServerName, &d.DatabaseName}
	_, ok := sc.fields(2, detailsNames, func(i int) bool { return sc.optString(fields[i]) })
	return ok
}
