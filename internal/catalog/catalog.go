// Package catalog holds the built-in security content Sluice ships with:
// recommendation definitions (assessment metadata), secure score control
// definitions and regulatory compliance standards with their controls.
//
// The data lives in JSON files under data/ that are embedded into the binary.
// Every name is stable: recommendation and control names are GUIDs that
// appear in exported events and in resource IDs, so they must never change
// once shipped. Lookups fold case, as ARM does.
//
// A Catalog is immutable after loading; Default returns a shared instance
// that callers must treat as read-only.
package catalog

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

//go:embed data/*.json
var dataFS embed.FS

// Recommendation is a built-in recommendation definition: the
// assessmentMetadata resource of the REST API plus the resource types it
// applies to.
type Recommendation struct {
	// Name is the assessment key, a GUID shared by the metadata resource and
	// every assessment of this recommendation.
	Name                   string `json:"name"`
	DisplayName            string `json:"displayName"`
	Description            string `json:"description"`
	RemediationDescription string `json:"remediationDescription"`
	// Severity is Low, Medium or High.
	Severity string `json:"severity"`
	// Categories are REST Categories values (Compute, Networking, Data,
	// IdentityAndAccess, AppServices, Container, IoT).
	Categories []string `json:"categories"`
	// UserImpact and ImplementationEffort are Low, Moderate or High.
	UserImpact           string `json:"userImpact"`
	ImplementationEffort string `json:"implementationEffort"`
	// Threats are REST Threats values in their REST spelling
	// (accountBreach, dataExfiltration, …).
	Threats []string `json:"threats"`
	// AssessmentType is BuiltIn for every catalog entry.
	AssessmentType     string `json:"assessmentType"`
	PolicyDefinitionID string `json:"policyDefinitionId"`
	// ResourceTypes are the ARM resource types (namespace/type, e.g.
	// Microsoft.Compute/virtualMachines) the recommendation assesses.
	// Microsoft.Resources/subscriptions means the subscription itself.
	ResourceTypes []string `json:"resourceTypes"`
}

// Control is a built-in secure score control definition.
type Control struct {
	// Name is the control's GUID.
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	// MaxScore is the number of points the control contributes (0..10).
	MaxScore int `json:"maxScore"`
	// Source is BuiltIn.
	Source string `json:"source"`
	// Assessments are the recommendation names (assessment keys) in the
	// control.
	Assessments []string `json:"assessments"`
}

// Standard is a regulatory compliance standard.
type Standard struct {
	// Name is the standard's resource name, e.g. PCI-DSS-4.
	Name        string             `json:"name"`
	DisplayName string             `json:"displayName"`
	Controls    []*StandardControl `json:"controls"`
}

// StandardControl is one control of a regulatory compliance standard.
type StandardControl struct {
	// Name is the control's resource name, e.g. AC-2 or 1.1.2.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Assessments are the recommendation names mapped to the control.
	Assessments []string `json:"assessments"`
}

// Catalog is a loaded, validated set of recommendations, controls and
// standards. Its slices keep file order; lookups fold case.
type Catalog struct {
	Recommendations []*Recommendation
	Controls        []*Control
	Standards       []*Standard

	recs      map[string]*Recommendation
	controls  map[string]*Control
	standards map[string]*Standard
	byType    map[string][]*Recommendation
	ctlOf     map[string][]*Control
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the embedded built-in catalog. It panics if the embedded
// data is invalid, which the package tests rule out.
func Default() *Catalog {
	defaultOnce.Do(func() {
		c, err := Load(dataFS, "data")
		if err != nil {
			panic("catalog: embedded data is invalid: " + err.Error())
		}
		defaultCat = c
	})
	return defaultCat
}

// FS is the file system Load reads from (embed.FS and os.DirFS satisfy it).
type FS interface {
	ReadFile(name string) ([]byte, error)
}

// Load reads recommendations.json, controls.json and standards.json from dir
// in fsys, then indexes and validates them.
func Load(fsys FS, dir string) (*Catalog, error) {
	read := func(name string, v any) error {
		b, err := fsys.ReadFile(dir + "/" + name)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	var r struct {
		Recommendations []*Recommendation `json:"recommendations"`
	}
	var c struct {
		Controls []*Control `json:"controls"`
	}
	var s struct {
		Standards []*Standard `json:"standards"`
	}
	if err := read("recommendations.json", &r); err != nil {
		return nil, err
	}
	if err := read("controls.json", &c); err != nil {
		return nil, err
	}
	if err := read("standards.json", &s); err != nil {
		return nil, err
	}
	return New(r.Recommendations, c.Controls, s.Standards)
}

// New indexes and validates the given definitions.
func New(recs []*Recommendation, controls []*Control, standards []*Standard) (*Catalog, error) {
	c := &Catalog{
		Recommendations: recs,
		Controls:        controls,
		Standards:       standards,
		recs:            map[string]*Recommendation{},
		controls:        map[string]*Control{},
		standards:       map[string]*Standard{},
		byType:          map[string][]*Recommendation{},
		ctlOf:           map[string][]*Control{},
	}
	var errs []error
	for _, r := range recs {
		k := strings.ToLower(r.Name)
		if _, dup := c.recs[k]; dup {
			errs = append(errs, fmt.Errorf("recommendation %s: duplicate name", r.Name))
		}
		c.recs[k] = r
		for _, t := range r.ResourceTypes {
			tk := strings.ToLower(t)
			c.byType[tk] = append(c.byType[tk], r)
		}
	}
	for _, ctl := range controls {
		k := strings.ToLower(ctl.Name)
		if _, dup := c.controls[k]; dup {
			errs = append(errs, fmt.Errorf("control %s: duplicate name", ctl.Name))
		}
		c.controls[k] = ctl
		for _, a := range ctl.Assessments {
			ak := strings.ToLower(a)
			c.ctlOf[ak] = append(c.ctlOf[ak], ctl)
		}
	}
	for _, s := range standards {
		k := strings.ToLower(s.Name)
		if _, dup := c.standards[k]; dup {
			errs = append(errs, fmt.Errorf("standard %s: duplicate name", s.Name))
		}
		c.standards[k] = s
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

var (
	guidRe          = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	resourceTypeRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+(/[A-Za-z][A-Za-z0-9]*)+$`)
	policyIDRe      = regexp.MustCompile(`^/providers/Microsoft\.Authorization/policyDefinitions/[0-9a-f-]{36}$`)
	validSeverity   = []string{"Low", "Medium", "High"}
	validEffort     = []string{"Low", "Moderate", "High"}
	validCategories = []string{"Compute", "Networking", "Data", "IdentityAndAccess", "AppServices", "Container", "IoT"}
	validThreats    = []string{"accountBreach", "dataExfiltration", "dataSpillage", "denialOfService", "elevationOfPrivilege", "maliciousInsider", "missingCoverage", "threatResistance"}
)

// validate checks the cross references and value domains of the catalog.
func (c *Catalog) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, r := range c.Recommendations {
		id := "recommendation " + r.Name
		if !guidRe.MatchString(r.Name) {
			bad("%s: name is not a lower-case GUID", id)
		}
		if r.DisplayName == "" || r.Description == "" || r.RemediationDescription == "" {
			bad("%s: displayName, description and remediationDescription are required", id)
		}
		if !slices.Contains(validSeverity, r.Severity) {
			bad("%s: severity %q is not one of %v", id, r.Severity, validSeverity)
		}
		if !slices.Contains(validEffort, r.UserImpact) || !slices.Contains(validEffort, r.ImplementationEffort) {
			bad("%s: userImpact/implementationEffort must be one of %v", id, validEffort)
		}
		if len(r.Categories) == 0 {
			bad("%s: no category", id)
		}
		for _, cat := range r.Categories {
			if !slices.Contains(validCategories, cat) {
				bad("%s: category %q is not one of %v", id, cat, validCategories)
			}
		}
		if len(r.Threats) == 0 {
			bad("%s: no threats", id)
		}
		for _, t := range r.Threats {
			if !slices.Contains(validThreats, t) {
				bad("%s: threat %q is not one of %v", id, t, validThreats)
			}
		}
		if r.AssessmentType != "BuiltIn" {
			bad("%s: assessmentType must be BuiltIn", id)
		}
		if !policyIDRe.MatchString(r.PolicyDefinitionID) {
			bad("%s: policyDefinitionId %q is malformed", id, r.PolicyDefinitionID)
		}
		if len(r.ResourceTypes) == 0 {
			bad("%s: no resource types", id)
		}
		for _, t := range r.ResourceTypes {
			if !resourceTypeRe.MatchString(t) {
				bad("%s: resource type %q is malformed", id, t)
			}
		}
		if len(c.ctlOf[strings.ToLower(r.Name)]) == 0 {
			bad("%s: not in any secure score control", id)
		}
	}
	for _, ctl := range c.Controls {
		id := "control " + ctl.Name
		if !guidRe.MatchString(ctl.Name) {
			bad("%s: name is not a lower-case GUID", id)
		}
		if ctl.DisplayName == "" {
			bad("%s: displayName is required", id)
		}
		if ctl.MaxScore < 0 || ctl.MaxScore > 10 {
			bad("%s: maxScore %d is outside 0..10", id, ctl.MaxScore)
		}
		if ctl.Source != "BuiltIn" {
			bad("%s: source must be BuiltIn", id)
		}
		if len(ctl.Assessments) == 0 {
			bad("%s: no recommendations", id)
		}
		seen := map[string]bool{}
		for _, a := range ctl.Assessments {
			if _, ok := c.recs[strings.ToLower(a)]; !ok {
				bad("%s: unknown recommendation %s", id, a)
			}
			if seen[strings.ToLower(a)] {
				bad("%s: recommendation %s listed twice", id, a)
			}
			seen[strings.ToLower(a)] = true
		}
	}
	for _, s := range c.Standards {
		id := "standard " + s.Name
		if s.Name == "" || strings.ContainsAny(s.Name, "/ ") {
			bad("%s: name must be a non-empty resource name", id)
		}
		names := map[string]bool{}
		for _, sc := range s.Controls {
			cid := id + " control " + sc.Name
			if sc.Name == "" || strings.ContainsAny(sc.Name, "/ ") {
				bad("%s: name must be a non-empty resource name", cid)
			}
			if names[strings.ToLower(sc.Name)] {
				bad("%s: duplicate control name", cid)
			}
			names[strings.ToLower(sc.Name)] = true
			if sc.Description == "" {
				bad("%s: description is required", cid)
			}
			for _, a := range sc.Assessments {
				if _, ok := c.recs[strings.ToLower(a)]; !ok {
					bad("%s: unknown recommendation %s", cid, a)
				}
			}
		}
	}
	return errs
}

// Recommendation returns the recommendation with the given assessment key.
func (c *Catalog) Recommendation(key string) (*Recommendation, bool) {
	r, ok := c.recs[strings.ToLower(key)]
	return r, ok
}

// Control returns the secure score control with the given name.
func (c *Catalog) Control(name string) (*Control, bool) {
	ctl, ok := c.controls[strings.ToLower(name)]
	return ctl, ok
}

// Standard returns the regulatory compliance standard with the given name.
func (c *Catalog) Standard(name string) (*Standard, bool) {
	s, ok := c.standards[strings.ToLower(name)]
	return s, ok
}

// StandardControl returns the named control of the named standard.
func (c *Catalog) StandardControl(standard, control string) (*StandardControl, bool) {
	s, ok := c.Standard(standard)
	if !ok {
		return nil, false
	}
	for _, sc := range s.Controls {
		if strings.EqualFold(sc.Name, control) {
			return sc, true
		}
	}
	return nil, false
}

// ControlsOf returns the secure score controls that contain the
// recommendation with the given assessment key, in catalog order.
func (c *Catalog) ControlsOf(key string) []*Control {
	return c.ctlOf[strings.ToLower(key)]
}

// ForResourceType returns the recommendations that apply to an ARM resource
// type such as Microsoft.Compute/virtualMachines (case-insensitive), in
// catalog order.
func (c *Catalog) ForResourceType(resourceType string) []*Recommendation {
	return c.byType[strings.ToLower(resourceType)]
}

// ResourceTypes returns every resource type some recommendation applies to,
// sorted.
func (c *Catalog) ResourceTypes() []string {
	seen := map[string]string{}
	for _, r := range c.Recommendations {
		for _, t := range r.ResourceTypes {
			seen[strings.ToLower(t)] = t
		}
	}
	out := make([]string, 0, len(seen))
	for _, t := range seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
