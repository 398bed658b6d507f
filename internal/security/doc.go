// Package security holds Sluice's security records, the pure logic around
// them, and the store-backed service that keeps them:
//
//   - Service and Writer (service.go, writer.go): assessments, custom
//     assessment metadata, sub-assessments and alerts in the store, every
//     change appended to the event log in the same transaction, and the
//     secure score and compliance recomputed once per batch from running
//     per-subscription counters (aggregate.go); Snapshot implements the
//     export snapshot source.
//   - Handlers (http.go): the ARM routes the armsecurity clients use, and
//     the NDJSON ingestion parsers and batch (ingest.go).
//
// The rest of the package is pure (no HTTP, no storage):
//
//   - Record types in the REST shapes the armsecurity clients read: Alert
//     (2022-01-01), Assessment (2025-05-04/2021-06-01), AssessmentMetadata,
//     SubAssessment (2019-01-01-preview), SecureScore, SecureScoreControl and
//     its definition (2020-01-01), RegulatoryComplianceStandard/Control/
//     Assessment (2019-01-01-preview).
//   - Parsers for producer input (ParseAlert, ParseAssessment, …) that
//     return an *Error with a precise code and the JSON path at fault.
//   - Export bodies: the exact JSON continuous export sends for each event
//     source (AlertEvent, AssessmentEvent, SubAssessmentEvent,
//     SecureScoreEvent, SecureScoreControlEvent, RegulatoryComplianceEvent),
//     with deterministic key order and .NET-style timestamps.
//   - Secure score and regulatory compliance computation over assessment
//     states (ComputeSecureScore, ComputeCompliance).
//   - Change detection: which writes produce which events (AssessmentChange,
//     SubAssessmentChange, AlertChanged, SecureScoreChanged,
//     SecureScoreControlChanged, ComplianceAssessmentChanged).
//   - Sample alert generation for the alert simulator (SimulateAlerts).
//
// # Secure score rules
//
// For one subscription and one control, a resource counts as Unhealthy when
// any of the control's recommendations on it is Unhealthy, as Healthy when
// all of the control's recommendations on it that apply are Healthy, and as
// NotApplicable when every one of them is NotApplicable (not-applicable
// results never count against a resource). The control's current score is
// max × healthy ÷ (healthy + unhealthy) rounded to two decimals (0 when no
// resource counts); its percentage is current ÷ max rounded to four
// decimals (0 when max is 0); its weight is healthy + unhealthy. The overall
// score sums the current scores; its max sums the max scores of the controls
// that have at least one counted resource (controls with no healthy or
// unhealthy resource do not lower the score); its percentage is current ÷
// max rounded to four decimals; its weight is the number of distinct
// resources counted by at least one control.
//
// # Regulatory compliance rules
//
// For each standard control's recommendation (a regulatory compliance
// assessment): every resource with that recommendation counts as passed
// (Healthy), failed (Unhealthy) or skipped (NotApplicable). Its state is
// Failed if any resource failed, Passed if any passed and none failed,
// Skipped if resources exist and all were skipped, and Unsupported if no
// resource has the recommendation. A control aggregates its assessments the
// same way (Failed if any Failed; else Passed if any Passed; else Skipped if
// any Skipped; else Unsupported) and counts passed/failed/skipped
// assessments. A standard aggregates its controls likewise and counts
// passed/failed/skipped/unsupported controls.
//
// # Change rules
//
// Assessments and sub-assessments produce Insert when created or when
// status.code changes, and Delete when removed (the body carries the last
// properties). Alerts produce an event when created and on every status
// change. The overall secure score and each control produce Insert only when
// the current score moves by at least 0.01; a change of resource counts
// alone, a control with max score 0 and the first (baseline) computation
// produce nothing. Regulatory compliance assessments produce Write when
// created or when their state changes. A write that changes none of these
// produces no event.
package security
