// Package automation implements the Microsoft.Security/automations
// resource: the lenient request parser, validation with precise ARM error
// codes, the write-only secrets (sealed at rest), the REST routes of both
// api-versions, and the compilation of each automation into the export
// engine's form — scopes, event sources and rule sets evaluated against
// event documents (OR across rule sets, AND within a set).
//
// Rule paths (propertyJPath) use Json.NET syntax and are parsed with
// github.com/ohler55/ojg/jp. Plain dotted and indexed paths are evaluated
// directly on the raw JSON of an event without decoding it (see Document);
// anything else (wildcards, filters, recursive descent) falls back to a
// fully decoded document.
package automation
