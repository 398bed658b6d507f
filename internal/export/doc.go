// Package export is the continuous export engine: it matches every event
// of the log against the automations, queues the matches durably per
// automation action, and delivers them to sinks in order, at least once,
// with retries, dead letters and visible health.
package export
