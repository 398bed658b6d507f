package security

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/ingest"
	"sluice/internal/store"
)

// Permissions of security writes.
const (
	PermAssessmentWrite    = "Microsoft.Security/assessments/write"
	PermAssessmentRead     = "Microsoft.Security/assessments/read"
	PermAssessmentDelete   = "Microsoft.Security/assessments/delete"
	PermSubAssessmentWrite = "Microsoft.Security/assessments/subAssessments/write"
	PermSubAssessmentRead  = "Microsoft.Security/assessments/subAssessments/read"
	PermAlertWrite         = "Microsoft.Security/alerts/write"
	PermAlertRead          = "Microsoft.Security/alerts/read"
	PermMetadataWrite      = "Microsoft.Security/assessmentMetadata/write"
	PermMetadataRead       = "Microsoft.Security/assessmentMetadata/read"
	PermMetadataDelete     = "Microsoft.Security/assessmentMetadata/delete"
	PermScoreRead          = "Microsoft.Security/secureScores/read"
	PermComplianceRead     = "Microsoft.Security/regulatoryComplianceStandards/read"
)

// Ingestion record types (the ARM resource types, matched case-insensitively).
const (
	IngestTypeAssessment    = "microsoft.security/assessments"
	IngestTypeSubAssessment = "microsoft.security/assessments/subassessments"
	IngestTypeAlert         = "microsoft.security/locations/alerts"
	IngestTypeAlertShort    = "microsoft.security/alerts"
	IngestTypeMetadata      = "microsoft.security/assessmentmetadata"
)

// line is one parsed ingestion record.
type line struct {
	id    string
	perm  string
	scope string
	apply func(ctx context.Context, w *Writer) error
	// prepare, when set, works out the write ahead of the transaction.
	prepare func(now time.Time)
}

// Prepare implements ingest.Preparer.
func (l *line) Prepare(now time.Time) {
	if l.prepare != nil {
		l.prepare(now)
	}
}

func (l *line) ID() string                      { return l.id }
func (l *line) Authorization() (string, string) { return l.perm, l.scope }

// writeScope is the scope write permissions of a resource are checked at:
// its resource group, or its subscription.
func writeScope(id *armid.ID) string {
	if id.ResourceGroup != "" {
		return armid.ResourceGroupID(id.Subscription, id.ResourceGroup)
	}
	return armid.SubscriptionID(id.Subscription)
}

// IngestParsers returns the NDJSON line parsers of the ingestion route, by
// lower-case record type ("delete:<type>" for deletions).
func (s *Service) IngestParsers() map[string]ingest.Parser {
	return map[string]ingest.Parser{
		IngestTypeAssessment:                s.parseAssessmentLine,
		"delete:" + IngestTypeAssessment:    parseAssessmentDelete,
		IngestTypeSubAssessment:             s.parseSubAssessmentLine,
		"delete:" + IngestTypeSubAssessment: parseSubAssessmentDelete,
		IngestTypeAlert:                     s.parseAlertLine,
		IngestTypeAlertShort:                s.parseAlertLine,
		IngestTypeMetadata:                  parseMetadataLine,
		"delete:" + IngestTypeMetadata:      parseMetadataDelete,
	}
}

// NewBatch starts an ingestion batch over tx (ingest.Ingestor.NewBatch).
// The batch is optimistic (ingest.Optimistic): records are applied without
// a savepoint each until Isolate.
func (s *Service) NewBatch(tx store.Tx, now time.Time) ingest.Batch {
	w := s.NewWriter(tx, now)
	w.direct = true
	return &batch{w: w}
}

type batch struct{ w *Writer }

// Isolate implements ingest.Optimistic: later records run under a
// savepoint each.
func (b *batch) Isolate() { b.w.direct = false }

func (b *batch) Apply(ctx context.Context, rec ingest.Record) error {
	l, ok := rec.(*line)
	if !ok {
		return fmt.Errorf("security: cannot apply a %T", rec)
	}
	return l.apply(ctx, b.w)
}

func (b *batch) Finish(ctx context.Context) error { return b.w.Finish(ctx) }

// lineID reads the required id of a line.
func lineID(raw []byte) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", apiError(jsonError(err))
	}
	if strings.TrimSpace(v.ID) == "" {
		return "", apiError(missing("id"))
	}
	return v.ID, nil
}

func splitAssessment(id string) (*armid.ID, string, error) {
	if _, key, rid, ok := quickAssessmentID(id); ok {
		return rid, key, nil
	}
	resource, key, err := ParseAssessmentID(id)
	if err != nil {
		return nil, "", apiError(err)
	}
	rid, err := resourceID(resource, "assessed resource")
	if err != nil {
		return nil, "", err
	}
	return rid, key, nil
}

func (s *Service) parseAssessmentLine(raw []byte) (ingest.Record, error) {
	return s.parseAssessmentLineHashed(raw, s.hash(raw))
}

// parseAssessmentLineHashed parses an assessment line in full; h is the
// hash of the line.
func (s *Service) parseAssessmentLineHashed(raw []byte, h uint64) (ingest.Record, error) {
	a, err := ParseAssessment(raw)
	if err != nil {
		return nil, apiError(err)
	}
	if strings.TrimSpace(a.ID) == "" {
		return nil, apiError(missing("id"))
	}
	rid, key, err := splitAssessment(a.ID)
	if err != nil {
		return &line{id: a.ID}, err
	}
	id := a.ID
	a.ID, a.Name, a.Type = "", "", ""
	var spec *assessSpec
	return &line{id: id, perm: PermAssessmentWrite, scope: writeScope(rid),
		prepare: func(now time.Time) { spec = s.speculate(rid, key, a, now) },
		apply: func(ctx context.Context, w *Writer) error {
			return w.apply(ctx, func() error {
				_, err := w.putAssessment(ctx, rid.String(), key, a, spec, h)
				return err
			})
		}}, nil
}

func parseAssessmentDelete(raw []byte) (ingest.Record, error) {
	id, err := lineID(raw)
	if err != nil {
		return nil, err
	}
	rid, key, err := splitAssessment(id)
	if err != nil {
		return &line{id: id}, err
	}
	return &line{id: id, perm: PermAssessmentWrite, scope: writeScope(rid), apply: func(ctx context.Context, w *Writer) error {
		_, err := w.DeleteAssessment(ctx, rid.String(), key)
		return err
	}}, nil
}

// splitSubAssessment splits a sub-assessment ID into its assessment ID and
// name.
func splitSubAssessment(id string) (assessmentID, name string, rid *armid.ID, err error) {
	const marker = "/subassessments/"
	i, ascii := lastIndexFold(id, marker)
	if !ascii {
		i = strings.LastIndex(strings.ToLower(id), marker)
	}
	if i <= 0 {
		return "", "", nil, armapi.BadRequest(CodeInvalidResourceID,
			"'%s' is not a sub-assessment ID (…/providers/Microsoft.Security/assessments/{key}/subAssessments/{name}).", id)
	}
	assessmentID, name = id[:i], id[i+len(marker):]
	if rid, _, err = splitAssessment(assessmentID); err != nil {
		return "", "", nil, err
	}
	if err := checkName(name, "sub-assessment"); err != nil {
		return "", "", nil, err
	}
	return assessmentID, name, rid, nil
}

func (svc *Service) parseSubAssessmentLine(raw []byte) (ingest.Record, error) {
	return svc.parseSubAssessmentLineHashed(raw, svc.hash(raw))
}

// parseSubAssessmentLineHashed parses a finding line in full; h is the hash
// of the line.
func (svc *Service) parseSubAssessmentLineHashed(raw []byte, h uint64) (ingest.Record, error) {
	s, err := ParseSubAssessment(raw)
	if err != nil {
		return nil, apiError(err)
	}
	if strings.TrimSpace(s.ID) == "" {
		return nil, apiError(missing("id"))
	}
	aid, name, rid, err := splitSubAssessment(s.ID)
	if err != nil {
		return &line{id: s.ID}, err
	}
	id := s.ID
	var spec *subSpec
	return &line{id: id, perm: PermSubAssessmentWrite, scope: writeScope(rid),
		prepare: func(now time.Time) { spec = svc.speculateSub(aid, name, s, now) },
		apply: func(ctx context.Context, w *Writer) error {
			return w.apply(ctx, func() error {
				_, err := w.putSubAssessment(ctx, aid, name, s, spec, h)
				return err
			})
		}}, nil
}

func parseSubAssessmentDelete(raw []byte) (ingest.Record, error) {
	id, err := lineID(raw)
	if err != nil {
		return nil, err
	}
	aid, name, rid, err := splitSubAssessment(id)
	if err != nil {
		return &line{id: id}, err
	}
	return &line{id: id, perm: PermSubAssessmentWrite, scope: writeScope(rid), apply: func(ctx context.Context, w *Writer) error {
		_, err := w.DeleteSubAssessment(ctx, aid, name)
		return err
	}}, nil
}

// alertScope is the scope of an alert line: its Azure resource's resource
// group or subscription, else that of its id, else its workspace
// subscription.
func alertScope(a *Alert) (string, error) {
	for _, raw := range []string{a.AzureResourceID(), a.ID} {
		if raw == "" {
			continue
		}
		s := raw
		if i := strings.Index(strings.ToLower(raw), "/providers/microsoft.security/locations/"); i > 0 {
			s = raw[:i]
		}
		id, err := resourceID(s, "alert resource")
		if err != nil {
			return "", err
		}
		return writeScope(id), nil
	}
	for _, r := range a.Properties.ResourceIdentifiers {
		if armid.IsGUID(r.WorkspaceSubscriptionID) {
			return armid.SubscriptionID(r.WorkspaceSubscriptionID), nil
		}
	}
	return "", armapi.BadRequest(CodeMissingRequiredProperty,
		"The alert names no Azure resource, no alert id and no workspace subscription, so it cannot be placed in a subscription.")
}

func (s *Service) parseAlertLine(raw []byte) (ingest.Record, error) {
	return s.parseAlertLineHashed(raw, s.hash(raw))
}

// parseAlertLineHashed parses an alert line in full; h is the hash of the
// line.
func (s *Service) parseAlertLineHashed(raw []byte, h uint64) (ingest.Record, error) {
	a, err := ParseAlert(raw)
	if err != nil {
		return nil, apiError(err)
	}
	scope, err := alertScope(a)
	if err != nil {
		return &line{id: a.ID}, err
	}
	id := a.ID
	a.ID, a.Type = "", ""
	var spec *alertSpec
	l := &line{id: id, perm: PermAlertWrite, scope: scope}
	l.prepare = func(now time.Time) { spec = s.speculateAlert(a, id, now) }
	l.apply = func(ctx context.Context, w *Writer) error {
		err := w.apply(ctx, func() error {
			_, err := w.putAlert(ctx, a, id, spec, &resentLine{hash: h, scope: l.scope})
			return err
		})
		l.id = a.ID
		return err
	}
	return l, nil
}

// splitMetadata splits a custom metadata ID into subscription and name.
func splitMetadata(id string) (sub, name string, err error) {
	pid, perr := armid.Parse(id)
	if perr != nil || pid.Subscription == "" || pid.ResourceGroup != "" || pid.Parent != nil ||
		!strings.EqualFold(pid.Type(), TypeAssessmentMetadata) {
		return "", "", armapi.BadRequest(CodeInvalidResourceID,
			"'%s' is not a custom assessment metadata ID (/subscriptions/{s}/providers/Microsoft.Security/assessmentMetadata/{name}).", id)
	}
	return pid.Subscription, pid.Name(), nil
}

func parseMetadataLine(raw []byte) (ingest.Record, error) {
	m, err := ParseAssessmentMetadata(raw)
	if err != nil {
		return nil, apiError(err)
	}
	if strings.TrimSpace(m.ID) == "" {
		return nil, apiError(missing("id"))
	}
	sub, name, err := splitMetadata(m.ID)
	if err != nil {
		return &line{id: m.ID}, err
	}
	id := m.ID
	return &line{id: id, perm: PermMetadataWrite, scope: armid.SubscriptionID(sub), apply: func(ctx context.Context, w *Writer) error {
		_, _, err := w.PutMetadata(ctx, sub, name, m)
		return err
	}}, nil
}

func parseMetadataDelete(raw []byte) (ingest.Record, error) {
	id, err := lineID(raw)
	if err != nil {
		return nil, err
	}
	sub, name, err := splitMetadata(id)
	if err != nil {
		return &line{id: id}, err
	}
	return &line{id: id, perm: PermMetadataWrite, scope: armid.SubscriptionID(sub), apply: func(ctx context.Context, w *Writer) error {
		_, err := w.DeleteMetadata(ctx, sub, name)
		return err
	}}, nil
}
