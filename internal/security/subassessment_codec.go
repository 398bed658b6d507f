package security

import "strconv"

// This file decodes and encodes sub-assessments (findings) without
// reflection for the ingestion path, like the assessment and alert codecs:
// the decoder reads only what it can read exactly as json.Unmarshal would
// (ParseSubAssessment falls back to encoding/json otherwise); the encoders
// write byte for byte what json.Marshal (the stored body) and marshal (the
// event) write. subassessment_codec_test.go compares them.

var (
	subAssessmentPropertiesNames = []string{"id", "displayName", "status", "remediation", "impact", "category", "description",
		"timeGenerated", "resourceDetails", "additionalData"}
	subStatusNames = []string{"code", "cause", "severity", "description"}
)

// decodeSubAssessmentScan decodes raw into a SubAssessment in one pass
// when it can do so exactly as json.Unmarshal would; props reports whether
// a "properties" member is present and not null.
func decodeSubAssessmentScan(raw []byte) (s *SubAssessment, props, ok bool) {
	if len(raw) > MaxRecordSize {
		return nil, false, false
	}
	s = &SubAssessment{}
	p := &s.Properties
	sc := &scanner{s: string(raw)}
	props, ok = sc.resource(&s.ID, &s.Name, &s.Type, subAssessmentPropertiesNames, func(i int) bool {
		switch i {
		case 0:
			return sc.optString(&p.ID)
		case 1:
			return sc.optString(&p.DisplayName)
		case 2:
			st := &p.Status
			_, ok := sc.fields(2, subStatusNames, func(i int) bool {
				if i == 0 {
					if sc.null() {
						return true
					}
					c, ok := sc.str()
					st.Code = StatusCode(c)
					return ok
				}
				return sc.optString([...]*string{nil, &st.Cause, &st.Severity, &st.Description}[i])
			})
			return ok
		case 3:
			return sc.optString(&p.Remediation)
		case 4:
			return sc.optString(&p.Impact)
		case 5:
			return sc.optString(&p.Category)
		case 6:
			return sc.optString(&p.Description)
		case 7:
			return sc.optTime(&p.TimeGenerated)
		case 8:
			d := &p.ResourceDetails
			fields := [...]*string{&d.Source, &d.ID, &d.ResourceName, &d.ResourceType, &d.ResourceProvider, &d.NativeResourceID,
				&d.MachineName, &d.SourceComputerID, &d.Vmuuid, &d.WorkspaceID, &d.ServerName, &d.DatabaseName}
			_, ok := sc.fields(2, detailsNames, func(i int) bool { return sc.optString(fields[i]) })
			return ok
		}
		if sc.peek() != '{' {
			return false
		}
		v, ok := sc.value(2)
		p.AdditionalData, _ = v.(Object)
		return ok
	})
	if !ok {
		return nil, false, false
	}
	return s, props, true
}

// appendSubAssessmentREST appends json.Marshal(s); ok is false when it
// cannot (a free-form value appendValue cannot encode).
func appendSubAssessmentREST(dst []byte, s *SubAssessment) (_ []byte, ok bool) {
	const h = htmlEscaped
	dst, first := appendIdentity(dst, s.ID, s.Name, s.Type)
	p := &s.Properties
	dst = append(member(dst, "properties", first), '{')
	if p.ID != "" {
		dst = h.str(append(dst, `"id":`...), p.ID)
		dst = append(dst, ',')
	}
	dst = h.str(append(dst, `"displayName":`...), p.DisplayName)
	dst = h.str(append(dst, `,"status":{"code":`...), string(p.Status.Code))
	dst = h.optStr(dst, "cause", p.Status.Cause)
	dst = h.str(append(dst, `,"severity":`...), p.Status.Severity)
	dst = h.optStr(dst, "description", p.Status.Description)
	dst = append(dst, '}')
	dst = h.optStr(dst, "remediation", p.Remediation)
	dst = h.optStr(dst, "impact", p.Impact)
	dst = h.optStr(dst, "category", p.Category)
	dst = h.optStr(dst, "description", p.Description)
	if p.TimeGenerated != nil {
		dst = appendTime(append(dst, `,"timeGenerated":`...), p.TimeGenerated)
	}
	dst = h.resourceDetails(append(dst, `,"resourceDetails":`...), &p.ResourceDetails)
	if len(p.AdditionalData) > 0 {
		var err error
		if dst, err = appendHTMLEscaped(append(dst, `,"additionalData":`...), p.AdditionalData); err != nil {
			return nil, false
		}
	}
	return append(dst, '}', '}'), true
}

func appendSubEnrichment(dst []byte, e *subEnrichment) []byte {
	const h = plainText
	dst = h.str(append(dst, `{"$type":`...), e.TypeTag)
	dst = h.str(append(dst, `,"Action":`...), string(e.Action))
	dst = h.str(append(dst, `,"ApiVersion":`...), e.APIVersion)
	dst = strconv.AppendBool(append(dst, `,"IsSnapshot":`...), e.IsSnapshot)
	return append(dst, '}')
}

// appendJSON appends the event as marshal(ev) would; ok is false when it
// cannot.
func (ev *subAssessmentEvent) appendJSON(dst []byte) (_ []byte, ok bool) {
	const h = plainText
	dst = h.str(append(dst, `{"$type":`...), ev.TypeTag)
	dst = appendSubEnrichment(append(dst, `,"SubAssessmentEventDataEnrichment":`...), &ev.SubAssessmentEnrich)
	dst = appendSubEnrichment(append(dst, `,"SecurityEventDataEnrichment":`...), &ev.SecurityEnrich)
	dst = h.str(append(dst, `,"TenantId":`...), ev.TenantID)
	dst = h.str(append(dst, `,"Type":`...), ev.Type)
	dst = h.str(append(dst, `,"Id":`...), ev.ID)
	dst = h.str(append(dst, `,"Name":`...), ev.Name)
	p := &ev.Properties
	dst = h.str(append(dst, `,"Properties":{"$type":`...), p.TypeTag)
	dst = h.str(append(dst, `,"Id":`...), p.ID)
	dst = h.str(append(dst, `,"DisplayName":`...), p.DisplayName)
	var err error
	if dst, err = appendObject(append(dst, `,"Status":`...), p.Status); err != nil {
		return nil, false
	}
	dst = h.str(append(dst, `,"Remediation":`...), p.Remediation)
	dst = h.str(append(dst, `,"Impact":`...), p.Impact)
	dst = h.str(append(dst, `,"Category":`...), p.Category)
	dst = h.str(append(dst, `,"Description":`...), p.Description)
	dst = optTime(append(dst, `,"TimeGenerated":`...), p.TimeGenerated)
	if dst, err = appendObject(append(dst, `,"ResourceDetails":`...), p.ResourceDetails); err != nil {
		return nil, false
	}
	if dst, err = appendValue(append(dst, `,"AdditionalData":`...), p.AdditionalData); err != nil {
		return nil, false
	}
	return append(dst, '}', '}'), true
}
