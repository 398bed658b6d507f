package security

import (
	"slices"
	"strconv"
	"time"
)

// This file encodes assessments without reflection for the ingestion path:
// the stored REST body (byte for byte what json.Marshal writes, HTML
// escaping included) and the exported event body (what marshal writes).
// encode_assessment_test.go compares both with encoding/json.

// jsonText appends strings with or without HTML escaping.
type jsonText bool

const (
	htmlEscaped jsonText = true
	plainText   jsonText = false
)

func (h jsonText) str(dst []byte, s string) []byte {
	if h {
		return appendStringHTML(dst, s)
	}
	return appendString(dst, s)
}

// member appends ,"name": (the comma unless first).
func member(dst []byte, name string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// optStr appends a string member unless s is empty (omitempty).
func (h jsonText) optStr(dst []byte, name, s string) []byte {
	if s == "" {
		return dst
	}
	return h.str(member(dst, name, false), s)
}

func appendTime(dst []byte, t *Time) []byte {
	dst = append(dst, '"')
	dst = appendNetTime(dst, t.Time)
	return append(dst, '"')
}

// appendNetTime appends t as t.UTC().AppendFormat(dst, netLayout) does,
// without the layout interpreter for years 0 to 9999.
func appendNetTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, netLayout)
	}
	hour, min, sec := t.Clock()
	d2 := func(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	dst = append(d2(dst, int(month)), '-')
	dst = append(d2(dst, day), 'T')
	dst = append(d2(dst, hour), ':')
	dst = append(d2(dst, min), ':')
	dst = d2(dst, sec)
	if ticks := t.Nanosecond() / 100; ticks != 0 {
		var frac [7]byte
		for i := 6; i >= 0; i-- {
			frac[i] = byte('0' + ticks%10)
			ticks /= 10
		}
		n := 7
		for frac[n-1] == '0' {
			n--
		}
		dst = append(append(dst, '.'), frac[:n]...)
	}
	return append(dst, 'Z')
}

func (h jsonText) stringMap(dst []byte, m StringMap) []byte {
	dst = append(dst, '{')
	for i, p := range m {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = h.str(dst, p.Key)
		dst = append(dst, ':')
		dst = h.str(dst, p.Value)
	}
	return append(dst, '}')
}

func (h jsonText) strings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = h.str(dst, s)
	}
	return append(dst, ']')
}

func (h jsonText) resourceDetails(dst []byte, d *ResourceDetails) []byte {
	dst = h.str(append(dst, `{"source":`...), d.Source)
	dst = h.optStr(dst, "id", d.ID)
	dst = h.optStr(dst, "resourceName", d.ResourceName)
	dst = h.optStr(dst, "resourceType", d.ResourceType)
	dst = h.optStr(dst, "resourceProvider", d.ResourceProvider)
	dst = h.optStr(dst, "nativeResourceId", d.NativeResourceID)
	dst = h.optStr(dst, "machineName", d.MachineName)
	dst = h.optStr(dst, "sourceComputerId", d.SourceComputerID)
	dst = h.optStr(dst, "vmuuid", d.Vmuuid)
	dst = h.optStr(dst, "workspaceId", d.WorkspaceID)
	dst = h.optStr(dst, "serverName", d.ServerName)
	dst = h.optStr(dst, "databaseName", d.DatabaseName)
	return append(dst, '}')
}

// appendAssessmentREST appends the REST body of an assessment without
// metadata or partner data (the caller falls back to json.Marshal for
// those), exactly as json.Marshal(a) would.
func appendAssessmentREST(dst []byte, a *Assessment) []byte {
	const h = htmlEscaped
	dst = slices.Grow(dst, 320+a.textSize())
	dst, first := appendIdentity(dst, a.ID, a.Name, a.Type)
	p := &a.Properties
	dst = member(dst, "properties", first)
	dst = h.resourceDetails(append(dst, `{"resourceDetails":`...), &p.ResourceDetails)
	dst = h.optStr(dst, "displayName", p.DisplayName)
	st := &p.Status
	dst = h.str(append(dst, `,"status":{"code":`...), string(st.Code))
	dst = h.optStr(dst, "cause", st.Cause)
	dst = h.optStr(dst, "description", st.Description)
	if st.FirstEvaluationDate != nil {
		dst = appendTime(append(dst, `,"firstEvaluationDate":`...), st.FirstEvaluationDate)
	}
	if st.StatusChangeDate != nil {
		dst = appendTime(append(dst, `,"statusChangeDate":`...), st.StatusChangeDate)
	}
	dst = append(dst, '}')
	if len(p.AdditionalData) > 0 {
		dst = h.stringMap(append(dst, `,"additionalData":`...), p.AdditionalData)
	}
	if p.Links != nil {
		dst = h.str(append(dst, `,"links":{"azurePortalUri":`...), p.Links.AzurePortalURI)
		dst = append(dst, '}')
	}
	return append(dst, '}', '}')
}

func appendEnrichment(dst []byte, e *enrichment) []byte {
	const h = plainText
	dst = h.str(append(dst, `{"action":`...), string(e.Action))
	dst = h.str(append(dst, `,"apiVersion":`...), e.APIVersion)
	dst = strconv.AppendBool(append(dst, `,"isSnapshot":`...), e.IsSnapshot)
	dst = h.optStr(dst, "interval", e.Interval)
	return append(dst, '}')
}

// appendJSON appends the event as marshal(ev) would (kind, location and
// tags are always null here).
func (ev *assessmentEvent) appendJSON(dst []byte) []byte {
	const h = plainText
	dst = appendEnrichment(append(dst, `{"assessmentEventDataEnrichment":`...), &ev.AssessmentEnrichment)
	dst = appendEnrichment(append(dst, `,"securityEventDataEnrichment":`...), &ev.SecurityEnrichment)
	dst = h.str(append(dst, `,"tenantId":`...), ev.TenantID)
	dst = h.str(append(dst, `,"type":`...), ev.Type)
	dst = append(dst, `,"kind":null,"location":null,"id":`...)
	dst = h.str(dst, ev.ID)
	dst = h.str(append(dst, `,"name":`...), ev.Name)
	dst = append(dst, `,"tags":null,"properties":{"resourceDetails":`...)
	p := &ev.Properties
	dst = h.resourceDetails(dst, &p.ResourceDetails)
	dst = h.str(append(dst, `,"displayName":`...), p.DisplayName)
	st := &p.Status
	dst = h.str(append(dst, `,"status":{"code":`...), string(st.Code))
	dst = h.optStr(dst, "cause", st.Cause)
	dst = h.optStr(dst, "description", st.Description)
	if st.StatusChangeDate != nil {
		dst = appendTime(append(dst, `,"statusChangeDate":`...), st.StatusChangeDate)
	}
	if st.FirstEvaluationDate != nil {
		dst = appendTime(append(dst, `,"firstEvaluationDate":`...), st.FirstEvaluationDate)
	}
	dst = append(dst, '}')
	if len(p.AdditionalData) > 0 {
		dst = h.stringMap(append(dst, `,"additionalData":`...), p.AdditionalData)
	}
	if m := p.Metadata; m != nil {
		dst = h.str(append(dst, `,"metadata":{"displayName":`...), m.DisplayName)
		dst = h.str(append(dst, `,"assessmentType":`...), m.AssessmentType)
		dst = h.optStr(dst, "policyDefinitionId", m.PolicyDefinitionID)
		dst = h.optStr(dst, "description", m.Description)
		dst = h.optStr(dst, "remediationDescription", m.RemediationDescription)
		dst = h.strings(append(dst, `,"categories":`...), m.Categories)
		dst = h.str(append(dst, `,"severity":`...), m.Severity)
		dst = h.optStr(dst, "userImpact", m.UserImpact)
		dst = h.optStr(dst, "implementationEffort", m.ImplementationEffort)
		dst = h.strings(append(dst, `,"threats":`...), m.Threats)
		dst = append(dst, '}')
	}
	dst = h.str(append(dst, `,"links":{"azurePortal":`...), p.Links.AzurePortal)
	return append(dst, '}', '}', '}')
}

// textSize is the length of the strings of an assessment's encodings (a
// little more: each with a key and punctuation), to size their buffers.
func (a *Assessment) textSize() int {
	p := &a.Properties
	d := &p.ResourceDetails
	n := len(a.ID) + len(a.Name) + len(a.Type) + len(p.DisplayName) + len(p.Status.Code) + len(p.Status.Cause) + len(p.Status.Description)
	n += len(d.Source) + len(d.ID) + len(d.ResourceName) + len(d.ResourceType) + len(d.ResourceProvider) + len(d.NativeResourceID) +
		len(d.MachineName) + len(d.SourceComputerID) + len(d.Vmuuid) + len(d.WorkspaceID) + len(d.ServerName) + len(d.DatabaseName) + 12*20
	for _, kv := range p.AdditionalData {
		n += len(kv.Key) + len(kv.Value) + 6
	}
	if p.Links != nil {
		n += len(p.Links.AzurePortalURI) + 32
	}
	if m := p.Metadata; m != nil {
		n += len(m.DisplayName) + len(m.AssessmentType) + len(m.PolicyDefinitionID) + len(m.Description) + len(m.RemediationDescription) +
			len(m.Severity) + len(m.UserImpact) + len(m.ImplementationEffort) + 256
		for _, c := range m.Categories {
			n += len(c) + 3
		}
		for _, c := range m.Threats {
			n += len(c) + 3
		}
	}
	return n
}

// appendIdentity opens the JSON object of an ARM resource with its id, name
// and type, each left out when empty (omitempty); first reports whether no
// member was written.
func appendIdentity(dst []byte, id, name, typ string) (_ []byte, first bool) {
	dst = append(dst, '{')
	first = true
	for _, m := range [...]struct{ name, v string }{{"id", id}, {"name", name}, {"type", typ}} {
		if m.v != "" {
			dst = htmlEscaped.str(member(dst, m.name, first), m.v)
			first = false
		}
	}
	return dst, first
}
