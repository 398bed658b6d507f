package security

import "encoding/json"

// This file decodes the common shape of an ingested alert in one pass,
// like decodeAssessmentScan: only input whose decoding cannot differ from
// json.Unmarshal's (keys spelled exactly as the struct tags, each once,
// values of the field's type or null where that is a no-op or sets nil).
// Anything else returns false and ParseAlert decodes with encoding/json,
// which also words the errors. decode_alert_test.go compares both.

var (
	alertPropertiesNames = []string{"version", "alertType", "systemAlertId", "productComponentName", "alertDisplayName",
		"description", "severity", "intent", "startTimeUtc", "endTimeUtc", "resourceIdentifiers", "remediationSteps",
		"vendorName", "status", "extendedLinks", "alertUri", "timeGeneratedUtc", "productName", "processingEndTimeUtc",
		"entities", "isIncident", "correlationKey", "extendedProperties", "compromisedEntity", "techniques",
		"subTechniques", "supportingEvidence"}
	identifierNames = []string{"type", "azureResourceId", "workspaceId", "workspaceSubscriptionId", "workspaceResourceGroup", "agentId"}
)

// decodeAlertScan decodes raw into an Alert in one pass when it can do so
// exactly as json.Unmarshal would; props reports whether a "properties"
// member is present and not null. ok false means use json.Unmarshal.
func decodeAlertScan(raw []byte) (a *Alert, props, ok bool) {
	if len(raw) > MaxRecordSize {
		return nil, false, false
	}
	a = &Alert{}
	sc := &scanner{s: string(raw)}
	if props, ok = sc.resource(&a.ID, &a.Name, &a.Type, alertPropertiesNames, func(i int) bool { return sc.alertProperty(&a.Properties, i) }); !ok {
		return nil, false, false
	}
	return a, props, true
}

// alertProperty reads the value of alertPropertiesNames[i] into p.
func (sc *scanner) alertProperty(p *AlertProperties, i int) bool {
	strs := [...]*string{&p.Version, &p.AlertType, &p.SystemAlertID, &p.ProductComponentName, &p.AlertDisplayName,
		&p.Description, &p.Severity, &p.Intent}
	if i < len(strs) {
		return sc.optString(strs[i])
	}
	switch alertPropertiesNames[i] {
	case "startTimeUtc":
		return sc.optTime(&p.StartTimeUTC)
	case "endTimeUtc":
		return sc.optTime(&p.EndTimeUTC)
	case "timeGeneratedUtc":
		return sc.optTime(&p.TimeGeneratedUTC)
	case "processingEndTimeUtc":
		return sc.optTime(&p.ProcessingEndTimeUTC)
	case "vendorName":
		return sc.optString(&p.VendorName)
	case "status":
		return sc.optString(&p.Status)
	case "alertUri":
		return sc.optString(&p.AlertURI)
	case "productName":
		return sc.optString(&p.ProductName)
	case "correlationKey":
		return sc.optString(&p.CorrelationKey)
	case "compromisedEntity":
		return sc.optString(&p.CompromisedEntity)
	case "remediationSteps":
		return sc.stringSlice(&p.RemediationSteps)
	case "techniques":
		return sc.stringSlice(&p.Techniques)
	case "subTechniques":
		return sc.stringSlice(&p.SubTechniques)
	case "isIncident":
		switch {
		case sc.null():
		case sc.lit("true"):
			p.IsIncident = true
		case sc.lit("false"):
			p.IsIncident = false
		default:
			return false
		}
		return true
	case "resourceIdentifiers":
		if sc.null() {
			p.ResourceIdentifiers = nil
			return true
		}
		ids := make([]ResourceIdentifier, 0, 2)
		ok := sc.array(func() bool {
			if sc.peek() != '{' {
				return false
			}
			var r ResourceIdentifier
			fields := [...]*string{&r.Type, &r.AzureResourceID, &r.WorkspaceID, &r.WorkspaceSubscriptionID, &r.WorkspaceResourceGroup, &r.AgentID}
			_, ok := sc.fields(3, identifierNames, func(i int) bool {
				if i == 1 || i == 3 {
					return sc.optID(fields[i])
				}
				return sc.optString(fields[i])
			})
			ids = append(ids, r)
			return ok
		})
		p.ResourceIdentifiers = ids
		return ok
	case "entities":
		if sc.null() {
			p.Entities = nil
			return true
		}
		es := make([]Object, 0, 4)
		ok := sc.array(func() bool {
			if sc.peek() != '{' {
				return false
			}
			v, ok := sc.value(3)
			es = append(es, v.(Object))
			return ok
		})
		p.Entities = es
		return ok
	case "extendedProperties":
		if sc.peek() != '{' {
			return false
		}
		m, ok := sc.stringMap()
		p.ExtendedProperties = m
		return ok
	case "supportingEvidence":
		if sc.peek() != '{' {
			return false
		}
		v, ok := sc.value(2)
		p.SupportingEvidence, _ = v.(Object)
		return ok
	}
	// extendedLinks (PascalCase keys, pointer members): encoding/json.
	return false
}

// lit consumes the literal s when it comes next.
func (sc *scanner) lit(s string) bool {
	sc.ws()
	if len(sc.s)-sc.i >= len(s) && sc.s[sc.i:sc.i+len(s)] == s {
		sc.i += len(s)
		return true
	}
	return false
}

// array reads the array that comes next, calling elem for each element;
// elem must consume it.
func (sc *scanner) array(elem func() bool) bool {
	if !sc.next('[') {
		return false
	}
	if sc.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if sc.next(']') {
			return true
		}
		if !sc.next(',') {
			return false
		}
	}
}

// stringSlice reads an array of strings (null sets nil); a null element
// declines.
func (sc *scanner) stringSlice(dst *[]string) bool {
	if sc.null() {
		*dst = nil
		return true
	}
	out := make([]string, 0, 4)
	ok := sc.array(func() bool {
		s, ok := sc.str()
		out = append(out, s)
		return ok
	})
	*dst = out
	return ok
}

// stringMap reads an object of strings as StringMap.UnmarshalJSON does
// (null values read as "").
func (sc *scanner) stringMap() (StringMap, bool) {
	m := make(StringMap, 0, 8)
	ok := sc.object(func(k string) bool {
		v := ""
		if !sc.null() {
			s, ok := sc.str()
			if !ok {
				return false
			}
			v = s
		}
		m = append(m, StringPair{k, v})
		return true
	})
	return m, ok
}

// value reads a free-form value at depth as decodeFast does: objects as
// Object, arrays as []any (both never nil), numbers as json.Number.
func (sc *scanner) value(depth int) (any, bool) {
	switch sc.peek() {
	case '{':
		if depth >= scanMaxDepth {
			return nil, false
		}
		o := Object{}
		ok := sc.object(func(k string) bool {
			v, ok := sc.value(depth + 1)
			o = append(o, Member{k, v})
			return ok
		})
		return o, ok
	case '[':
		if depth >= scanMaxDepth {
			return nil, false
		}
		a := []any{}
		ok := sc.array(func() bool {
			v, ok := sc.value(depth + 1)
			a = append(a, v)
			return ok
		})
		return a, ok
	case '"':
		return sc.str()
	case 't':
		return true, sc.lit("true")
	case 'f':
		return false, sc.lit("false")
	case 'n':
		return nil, sc.lit("null")
	}
	start := sc.i
	if !sc.skip(depth) {
		return nil, false
	}
	return json.Number(sc.s[start:sc.i]), true
}
