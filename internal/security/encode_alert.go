package security

import "strconv"

// This file encodes alerts without reflection for the ingestion path: the
// exported event body (what marshal writes). encode_alert_test.go compares
// it with encoding/json.

// optTime appends a *Time as encoding/json does (null when nil).
func optTime(dst []byte, t *Time) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	return appendTime(dst, t)
}

// optString appends a *string as encoding/json does (null when nil).
func optString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendString(dst, *s)
}

// appendJSON appends the event as marshal(ev) would; ok is false when it
// cannot (a confidence score other than 0.0, a value appendValue cannot
// encode), and the caller then uses marshal.
func (ev *alertEvent) appendJSON(dst []byte) (_ []byte, ok bool) {
	const h = plainText
	if string(ev.ConfidenceScore) != "0.0" {
		return nil, false
	}
	dst = h.str(append(dst, `{"VendorName":`...), ev.VendorName)
	dst = h.str(append(dst, `,"AlertType":`...), ev.AlertType)
	dst = h.str(append(dst, `,"ProductName":`...), ev.ProductName)
	dst = optTime(append(dst, `,"StartTimeUtc":`...), ev.StartTimeUtc)
	dst = optTime(append(dst, `,"EndTimeUtc":`...), ev.EndTimeUtc)
	dst = optTime(append(dst, `,"TimeGenerated":`...), ev.TimeGenerated)
	dst = optTime(append(dst, `,"ProcessingEndTime":`...), ev.ProcessingEndTime)
	dst = h.str(append(dst, `,"Severity":`...), ev.Severity)
	dst = h.str(append(dst, `,"Status":`...), ev.Status)
	dst = optString(append(dst, `,"ProviderAlertStatus":`...), ev.ProviderAlertStatus)
	dst = optString(append(dst, `,"ConfidenceLevel":`...), ev.ConfidenceLevel)
	dst = append(dst, `,"ConfidenceScore":0.0,"ConfidenceReasons":`...)
	dst = h.strings(dst, ev.ConfidenceReasons)
	dst = strconv.AppendBool(append(dst, `,"IsIncident":`...), ev.IsIncident)
	dst = h.str(append(dst, `,"SystemAlertId":`...), ev.SystemAlertId)
	dst = optString(append(dst, `,"CorrelationKey":`...), ev.CorrelationKey)
	dst = h.str(append(dst, `,"Intent":`...), ev.Intent)
	dst = h.str(append(dst, `,"AzureResourceId":`...), ev.AzureResourceId)
	dst = optString(append(dst, `,"WorkspaceId":`...), ev.WorkspaceId)
	dst = optString(append(dst, `,"WorkspaceSubscriptionId":`...), ev.WorkspaceSubscriptionId)
	dst = h.str(append(dst, `,"WorkspaceResourceGroup":`...), ev.WorkspaceResourceGroup)
	dst = h.str(append(dst, `,"AgentId":`...), ev.AgentId)
	dst = h.str(append(dst, `,"CompromisedEntity":`...), ev.CompromisedEntity)
	dst = h.str(append(dst, `,"AlertDisplayName":`...), ev.AlertDisplayName)
	dst = h.str(append(dst, `,"Description":`...), ev.Description)
	dst = append(dst, `,"Entities":`...)
	var err error
	if dst, err = appendValue(dst, ev.Entities); err != nil {
		return nil, false
	}
	dst = append(dst, `,"ExtendedLinks":`...)
	if ev.ExtendedLinks == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, l := range ev.ExtendedLinks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = h.str(append(dst, `{"Href":`...), l.Href)
			dst = optString(append(dst, `,"Category":`...), l.Category)
			dst = h.str(append(dst, `,"Label":`...), l.Label)
			dst = h.str(append(dst, `,"Type":`...), l.Type)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = h.strings(append(dst, `,"RemediationSteps":`...), ev.RemediationSteps)
	dst = appendStringMap(append(dst, `,"ExtendedProperties":`...), ev.ExtendedProperties)
	dst = append(dst, `,"ResourceIdentifiers":`...)
	if ev.ResourceIdentifiers == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, o := range ev.ResourceIdentifiers {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendObject(dst, o); err != nil {
				return nil, false
			}
		}
		dst = append(dst, ']')
	}
	dst = h.str(append(dst, `,"AlertUri":`...), ev.AlertUri)
	return append(dst, '}'), true
}

// appendHTMLEscaped appends v encoded by appendValue, with <, > and &
// escaped as encoding/json escapes a Marshaler's output by default.
func appendHTMLEscaped(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	dst, err := appendValue(dst, v)
	if err != nil {
		return nil, err
	}
	return escapeHTMLFrom(dst, start), nil
}

// escapeHTMLFrom rewrites <, > and & in dst[start:] (compact JSON, where
// they only occur inside strings) as \u003c, \u003e and \u0026.
func escapeHTMLFrom(dst []byte, start int) []byte {
	n := 0
	for _, c := range dst[start:] {
		if c == '<' || c == '>' || c == '&' {
			n++
		}
	}
	if n == 0 {
		return dst
	}
	tail := append([]byte(nil), dst[start:]...)
	dst = dst[:start]
	for _, c := range tail {
		if c == '<' || c == '>' || c == '&' {
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendAlertREST appends the REST body of an alert exactly as
// json.Marshal(a) would; ok is false when it cannot (a free-form value
// appendValue cannot encode).
func appendAlertREST(dst []byte, a *Alert) (_ []byte, ok bool) {
	const h = htmlEscaped
	dst, first := appendIdentity(dst, a.ID, a.Name, a.Type)
	p := &a.Properties
	dst = append(member(dst, "properties", first), '{')
	if p.Version != "" {
		dst = h.str(append(dst, `"version":`...), p.Version)
		dst = append(dst, ',')
	}
	dst = h.str(append(dst, `"alertType":`...), p.AlertType)
	dst = h.str(append(dst, `,"systemAlertId":`...), p.SystemAlertID)
	dst = h.optStr(dst, "productComponentName", p.ProductComponentName)
	dst = h.str(append(dst, `,"alertDisplayName":`...), p.AlertDisplayName)
	dst = h.str(append(dst, `,"description":`...), p.Description)
	dst = h.str(append(dst, `,"severity":`...), p.Severity)
	dst = h.str(append(dst, `,"intent":`...), p.Intent)
	if p.StartTimeUTC != nil {
		dst = appendTime(append(dst, `,"startTimeUtc":`...), p.StartTimeUTC)
	}
	if p.EndTimeUTC != nil {
		dst = appendTime(append(dst, `,"endTimeUtc":`...), p.EndTimeUTC)
	}
	dst = append(dst, `,"resourceIdentifiers":`...)
	if p.ResourceIdentifiers == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, r := range p.ResourceIdentifiers {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = h.str(append(dst, `{"type":`...), r.Type)
			dst = h.optStr(dst, "azureResourceId", r.AzureResourceID)
			dst = h.optStr(dst, "workspaceId", r.WorkspaceID)
			dst = h.optStr(dst, "workspaceSubscriptionId", r.WorkspaceSubscriptionID)
			dst = h.optStr(dst, "workspaceResourceGroup", r.WorkspaceResourceGroup)
			dst = h.optStr(dst, "agentId", r.AgentID)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = h.strings(append(dst, `,"remediationSteps":`...), p.RemediationSteps)
	dst = h.str(append(dst, `,"vendorName":`...), p.VendorName)
	dst = h.str(append(dst, `,"status":`...), p.Status)
	if len(p.ExtendedLinks) > 0 {
		dst = append(dst, `,"extendedLinks":[`...)
		for i, l := range p.ExtendedLinks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = h.str(append(dst, `{"Href":`...), l.Href)
			if l.Category == nil {
				dst = append(dst, `,"Category":null`...)
			} else {
				dst = h.str(append(dst, `,"Category":`...), *l.Category)
			}
			dst = h.str(append(dst, `,"Label":`...), l.Label)
			dst = h.str(append(dst, `,"Type":`...), l.Type)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = h.optStr(dst, "alertUri", p.AlertURI)
	if p.TimeGeneratedUTC != nil {
		dst = appendTime(append(dst, `,"timeGeneratedUtc":`...), p.TimeGeneratedUTC)
	}
	dst = h.optStr(dst, "productName", p.ProductName)
	if p.ProcessingEndTimeUTC != nil {
		dst = appendTime(append(dst, `,"processingEndTimeUtc":`...), p.ProcessingEndTimeUTC)
	}
	dst = append(dst, `,"entities":`...)
	if p.Entities == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, e := range p.Entities {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendHTMLEscaped(dst, e); err != nil {
				return nil, false
			}
		}
		dst = append(dst, ']')
	}
	dst = strconv.AppendBool(append(dst, `,"isIncident":`...), p.IsIncident)
	dst = h.optStr(dst, "correlationKey", p.CorrelationKey)
	if len(p.ExtendedProperties) > 0 {
		dst = h.stringMap(append(dst, `,"extendedProperties":`...), p.ExtendedProperties)
	}
	dst = h.str(append(dst, `,"compromisedEntity":`...), p.CompromisedEntity)
	if len(p.Techniques) > 0 {
		dst = h.strings(append(dst, `,"techniques":`...), p.Techniques)
	}
	if len(p.SubTechniques) > 0 {
		dst = h.strings(append(dst, `,"subTechniques":`...), p.SubTechniques)
	}
	if len(p.SupportingEvidence) > 0 {
		var err error
		if dst, err = appendHTMLEscaped(append(dst, `,"supportingEvidence":`...), p.SupportingEvidence); err != nil {
			return nil, false
		}
	}
	return append(dst, '}', '}'), true
}

// appendAlertRuleExtras appends json.Marshal(AlertRuleExtras(a)): the map's
// keys in sorted order, strings HTML-escaped, the lists never null.
func appendAlertRuleExtras(dst []byte, a *Alert) []byte {
	const h = htmlEscaped
	p := &a.Properties
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	dst = h.str(append(dst, `{"ProductComponentName":`...), p.ProductComponentName)
	dst = h.str(append(dst, `,"ResourceType":`...), ResourceTypeDisplayName(a.AzureResourceID()))
	dst = h.strings(append(dst, `,"SubTechniques":`...), nonNil(p.SubTechniques))
	dst = h.strings(append(dst, `,"Techniques":`...), nonNil(p.Techniques))
	return append(dst, `,"Version":"3.0"}`...)
}
