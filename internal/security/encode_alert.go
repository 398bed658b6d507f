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
