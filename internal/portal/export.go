package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"sluice/internal/armid"
)

// The continuous export page of a subscription: two tabs (Event Hub, Log
// Analytics workspace), each reading and writing the automation
// ExportToEventHub or ExportToWorkspace of a resource group through the
// automations API, built as the built-in policies build it
// (exportform.go).

// API versions the page calls.
const (
	apiAutomations    = "2023-12-01-preview"
	apiSubscriptions  = "2022-12-01"
	apiResourceGroups = "2021-04-01"
	apiMetadata       = "2021-06-01"
	apiScores         = "2020-01-01"
	apiCompliance     = "2019-01-01-preview"
	apiWorkspaces     = "2022-10-01"
)

// exportRoutes registers the continuous export page of a subscription.
func (p *Portal) exportRoutes() {
	p.mux.Handle("GET "+Prefix+"export", p.authed(p.exportPick))
	p.mux.Handle("GET "+Prefix+"subscriptions/{subscriptionId}/export", p.authed(p.exportPage))
	p.mux.Handle("POST "+Prefix+"subscriptions/{subscriptionId}/export", p.authed(p.exportSave))
}

// tabs maps the tab parameter to its target.
var tabs = map[string]TargetKind{"eventhub": TargetEventHub, "workspace": TargetWorkspace}

func badRequest(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

var (
	subscriptionRE  = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	resourceGroupRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)
)

// option is one entry of a select.
type option struct {
	Value, Label string
	Selected     bool
}

type optGroup struct {
	Label   string
	Options []option
}

type resourceGroup struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// automationSummary is an automation as the banner and the list of
// configurations show it.
type automationSummary struct {
	Name, ResourceGroup string
	Enabled             bool
	Sources, Actions    []string
	Tab                 string // the page's tab for ExportTo* automations
	raw                 json.RawMessage
}

// exportView is what templates/export.html renders.
type exportView struct {
	Sub     Subscription
	Tab     string
	Target  TargetKind
	Name    string
	Groups  []resourceGroup
	Choices ExportChoices
	// Stored is the page's automation in the chosen resource group, if
	// any, as the API returns it (never with a secret).
	Stored              *automationSummary
	StoredJSON          string
	StoredModified      string
	HasConnectionString bool
	Unrepresentable     string
	Replace             bool

	Recs, Controls, Standards []option
	Workspaces                []optGroup
	WorkspaceOther            string
	// HubSubs are the subscriptions the Event Hub can be picked from;
	// HubRG, HubNamespace and HubName its other parts (the resource ID
	// field, when filled, wins).
	HubSubs                      []option
	HubRG, HubNamespace, HubName string
	Notes                        []string

	Others  []automationSummary
	Configs []automationSummary
	// ErrorField names the form field a save error is about.
	ErrorField string
}

// Severities for the template.
func (v *exportView) Severities() []string { return Severities }

// exportPick sends /portal/export?subscriptionId=… (or the first readable
// subscription) to the subscription's export page.
func (p *Portal) exportPick(w http.ResponseWriter, r *http.Request) error {
	sub := r.URL.Query().Get("subscriptionId")
	if sub == "" {
		subs, err := p.subscriptions(r)
		if err != nil {
			return err
		}
		if len(subs) == 0 {
			return &APIError{Status: http.StatusNotFound, Code: "SubscriptionNotFound", Message: "You cannot read any subscription."}
		}
		sub = subs[0].SubscriptionID
	}
	if !subscriptionRE.MatchString(sub) {
		return badRequest("'%.60s' is not a subscription id.", sub)
	}
	http.Redirect(w, r, Prefix+"subscriptions/"+sub+"/export", http.StatusSeeOther)
	return nil
}

// exportPage shows the form for the tab and resource group of the query.
func (p *Portal) exportPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	tab := q.Get("tab")
	if tab == "" {
		tab = "eventhub"
	}
	v, err := p.exportData(r, tab, q.Get("resourceGroup"))
	if err != nil {
		return err
	}
	view := &View{Title: "Continuous export", Nav: "environment", Data: v}
	if q.Get("saved") == "1" && v.Stored != nil {
		view.Flash = fmt.Sprintf("Saved: %s in resource group %s exports %s.", v.Stored.Name, v.Stored.ResourceGroup, strings.Join(v.Stored.Sources, ", "))
	}
	p.render(w, r, 0, "export", view)
	return nil
}

// exportSave saves the form's configuration through the automations API.
func (p *Portal) exportSave(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return badRequest("The form could not be read: %v.", err)
	}
	f := r.PostForm
	tab := f.Get("tab")
	rg := strings.TrimSpace(f.Get("resourceGroup"))
	if rg == "" {
		return badRequest("Choose the resource group the configuration is saved in.")
	}
	v, err := p.exportData(r, tab, rg)
	if err != nil {
		return err
	}
	c := choicesFromForm(f, v.Target, v.Sub.SubscriptionID)
	c.ResourceGroup = v.Choices.ResourceGroup
	v.Choices = c
	v.Replace = f.Has("replace")
	v.WorkspaceOther = strings.TrimSpace(f.Get("workspace_other"))
	v.options()
	fail := func(status int, field, msg string) error {
		v.ErrorField = field
		p.render(w, r, status, "export", &View{Title: "Continuous export", Nav: "environment", Flash: msg, Error: true, Data: v})
		return nil
	}
	if v.Unrepresentable != "" && !v.Replace {
		return fail(http.StatusConflict, "replace", fmt.Sprintf("%s in %s was not made by this page (%s). Tick \"Replace it\" to overwrite it with this configuration.",
			v.Name, rg, v.Unrepresentable))
	}
	body, err := BuildAutomation(c)
	var ce *ChoiceError
	if errors.As(err, &ce) {
		return fail(http.StatusBadRequest, ce.Field, ce.Message)
	}
	if err != nil {
		return err
	}
	target := "/subscriptions/" + v.Sub.SubscriptionID + "/resourceGroups/" + url.PathEscape(c.ResourceGroup) +
		"/providers/Microsoft.Security/automations/" + v.Name + "?api-version=" + apiAutomations
	if _, err := p.call(r, http.MethodPut, target, body); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return fail(ae.Status, "", fmt.Sprintf("The configuration was not saved: %s (%s).", ae.Message, ae.Code))
		}
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("%ssubscriptions/%s/export?tab=%s&resourceGroup=%s&saved=1",
		Prefix, v.Sub.SubscriptionID, v.Tab, url.QueryEscape(c.ResourceGroup)), http.StatusSeeOther)
	return nil
}

// choicesFromForm reads the form's fields.
func choicesFromForm(f url.Values, target TargetKind, sub string) ExportChoices {
	on := func(name string) bool { return f.Has(name) }
	c := ExportChoices{
		Target: target, Subscription: sub,
		Location:                          strings.TrimSpace(f.Get("location")),
		Recommendations:                   Frequency{Streaming: on("rec_stream"), Snapshot: on("rec_snapshot")},
		SecurityFindings:                  Frequency{Streaming: on("findings"), Snapshot: on("findings_snapshot")},
		Alerts:                            Frequency{Streaming: on("alert_stream"), Snapshot: on("alert_snapshot")},
		SecureScore:                       Frequency{Streaming: on("score_stream"), Snapshot: on("score_snapshot")},
		SecureScoreControls:               Frequency{Streaming: on("control_stream"), Snapshot: on("control_snapshot")},
		RegulatoryCompliance:              Frequency{Streaming: on("standard_stream"), Snapshot: on("standard_snapshot")},
		RecommendationNames:               f["rec_names"],
		RecommendationSeverities:          f["rec_severity"],
		AlertSeverities:                   f["alert_severity"],
		SecureScoreControlNames:           f["control_names"],
		RegulatoryComplianceStandardNames: f["standard_names"],
	}
	switch target {
	case TargetEventHub:
		c.EventHubResourceID = strings.TrimSpace(f.Get("eventhub"))
		if c.EventHubResourceID == "" {
			c.EventHubResourceID = hubFromParts(f.Get("hub_sub"), f.Get("hub_rg"), f.Get("hub_ns"), f.Get("hub_name"))
		}
		c.ConnectionString = strings.TrimSpace(f.Get("connection_string"))
		c.TrustedService = on("trusted")
	case TargetWorkspace:
		c.WorkspaceResourceID = strings.TrimSpace(f.Get("workspace"))
		if other := strings.TrimSpace(f.Get("workspace_other")); other != "" {
			c.WorkspaceResourceID = other
		}
	}
	return c
}

// exportData loads what the page shows: the subscription, its resource
// groups, its automations (the page's own and the others), the stored
// configuration of the tab in resource group rg (or the first one found,
// or the first resource group), and the lists of the filters.
func (p *Portal) exportData(r *http.Request, tab, rg string) (*exportView, error) {
	target, ok := tabs[tab]
	if !ok {
		return nil, badRequest("There is no tab '%.40s' on the continuous export page: use tab=eventhub or tab=workspace.", tab)
	}
	sub := r.PathValue("subscriptionId")
	if !subscriptionRE.MatchString(sub) {
		return nil, badRequest("'%.60s' is not a subscription id.", sub)
	}
	if rg != "" && !resourceGroupRE.MatchString(rg) {
		return nil, badRequest("'%.100s' is not a resource group name.", rg)
	}
	v := &exportView{Tab: tab, Target: target, Name: target.AutomationName()}
	if err := p.getJSON(r, http.MethodGet, "/subscriptions/"+sub+"?api-version="+apiSubscriptions, nil, &v.Sub); err != nil {
		// Roles such as Security Admin may configure exports without
		// reading the subscription resource itself: show its id.
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
			return nil, err
		}
		v.Sub = Subscription{SubscriptionID: sub, DisplayName: sub}
	}
	sub = v.Sub.SubscriptionID
	raw, err := p.listAll(r, "/subscriptions/"+sub+"/resourcegroups?api-version="+apiResourceGroups, 50)
	if err != nil {
		return nil, err
	}
	for _, m := range raw {
		var g resourceGroup
		if err := json.Unmarshal(m, &g); err != nil {
			return nil, fmt.Errorf("decode resource group: %w", err)
		}
		v.Groups = append(v.Groups, g)
	}
	sort.Slice(v.Groups, func(i, j int) bool { return strings.ToLower(v.Groups[i].Name) < strings.ToLower(v.Groups[j].Name) })

	raw, err = p.listAll(r, "/subscriptions/"+sub+"/providers/Microsoft.Security/automations?api-version="+apiAutomations, 50)
	if err != nil {
		return nil, err
	}
	for _, m := range raw {
		s, err := summarise(m)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.EqualFold(s.Name, EventHubAutomationName):
			s.Tab = "eventhub"
			v.Configs = append(v.Configs, s)
		case strings.EqualFold(s.Name, WorkspaceAutomationName):
			s.Tab = "workspace"
			v.Configs = append(v.Configs, s)
		default:
			v.Others = append(v.Others, s)
		}
	}

	// The resource group: the query's, else where the tab's configuration
	// is, else the first one.
	if rg == "" {
		for _, s := range v.Configs {
			if s.Tab == tab {
				rg = s.ResourceGroup
				break
			}
		}
	}
	if rg == "" && len(v.Groups) > 0 {
		rg = v.Groups[0].Name
	}
	var group *resourceGroup
	for i := range v.Groups {
		if strings.EqualFold(v.Groups[i].Name, rg) {
			group = &v.Groups[i]
		}
	}
	if rg != "" && group == nil {
		return nil, badRequest("The subscription %s has no resource group '%s' that you can read.", sub, rg)
	}

	v.Choices = DefaultChoices(target, sub)
	if group != nil {
		v.Choices.ResourceGroup, v.Choices.Location = group.Name, group.Location
	}
	for i := range v.Configs {
		s := &v.Configs[i]
		if s.Tab != tab || group == nil || !strings.EqualFold(s.ResourceGroup, group.Name) {
			continue
		}
		v.Stored = s
		st, err := choicesFromAutomation(sub, s.raw)
		if err != nil {
			return nil, err
		}
		if st.Unrepresentable == "" && st.Choices.Target != target {
			st.Unrepresentable = "its target is not " + map[TargetKind]string{TargetEventHub: "an Event Hub", TargetWorkspace: "a Log Analytics workspace"}[target]
		}
		v.Unrepresentable = st.Unrepresentable
		if st.Choices.Target == target {
			// Representable or not, the form starts from the closest
			// configuration it can build (read-only notice aside).
			v.Choices, v.HasConnectionString = st.Choices, st.HasConnectionString
			v.Choices.ResourceGroup = group.Name
		} else if st.Choices.Location != "" {
			v.Choices.Location = st.Choices.Location
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, s.raw, "", "  ") == nil {
			v.StoredJSON = pretty.String()
		}
		var meta struct {
			SystemData struct {
				LastModifiedAt time.Time `json:"lastModifiedAt"`
			} `json:"systemData"`
		}
		if json.Unmarshal(s.raw, &meta) == nil && !meta.SystemData.LastModifiedAt.IsZero() {
			v.StoredModified = meta.SystemData.LastModifiedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
	}
	if err := p.exportLists(r, v); err != nil {
		return nil, err
	}
	v.options()
	return v, nil
}

// summarise reads an automation of the list.
func summarise(m json.RawMessage) (automationSummary, error) {
	var a struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Properties struct {
			IsEnabled bool `json:"isEnabled"`
			Sources   []struct {
				EventSource string `json:"eventSource"`
			} `json:"sources"`
			Actions []struct {
				ActionType string `json:"actionType"`
			} `json:"actions"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m, &a); err != nil {
		return automationSummary{}, fmt.Errorf("decode automation: %w", err)
	}
	s := automationSummary{Name: a.Name, Enabled: a.Properties.IsEnabled, raw: m}
	if id, err := armid.Parse(a.ID); err == nil {
		s.ResourceGroup = id.ResourceGroup
	}
	for _, src := range a.Properties.Sources {
		s.Sources = append(s.Sources, src.EventSource)
	}
	for _, act := range a.Properties.Actions {
		s.Actions = append(s.Actions, act.ActionType)
	}
	return s, nil
}

// catalogItem is a definition of the built-in catalog.
type catalogItem struct {
	Name       string `json:"name"`
	Properties struct {
		DisplayName string `json:"displayName"`
		Severity    string `json:"severity"`
	} `json:"properties"`
	// Workspaces.
	ID string `json:"id"`
}

// softList lists target; an API refusal (403, 404…) becomes a note and an
// empty list rather than failing the page.
func (p *Portal) softList(r *http.Request, v *exportView, what, target string) ([]catalogItem, error) {
	raw, err := p.listAll(r, target, 20)
	var ae *APIError
	if errors.As(err, &ae) {
		v.Notes = append(v.Notes, fmt.Sprintf("The list of %s could not be read (%s); enter names by hand if needed.", what, ae.Message))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]catalogItem, 0, len(raw))
	for _, m := range raw {
		var it catalogItem
		if err := json.Unmarshal(m, &it); err != nil {
			return nil, fmt.Errorf("decode %s: %w", what, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// exportLists loads the filter lists: the built-in recommendations and
// secure score controls, the subscription's compliance standards and,
// for the workspace tab, the workspaces of every readable subscription.
func (p *Portal) exportLists(r *http.Request, v *exportView) error {
	sub := v.Sub.SubscriptionID
	toOptions := func(items []catalogItem, withSeverity bool) []option {
		out := make([]option, 0, len(items))
		for _, it := range items {
			label := it.Properties.DisplayName
			if label == "" {
				label = it.Name
			}
			if withSeverity && it.Properties.Severity != "" {
				label += " (" + it.Properties.Severity + ")"
			}
			out = append(out, option{Value: it.Name, Label: label})
		}
		sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Label) < strings.ToLower(out[j].Label) })
		return out
	}
	recs, err := p.softList(r, v, "recommendations", "/providers/Microsoft.Security/assessmentMetadata?api-version="+apiMetadata+"&$top=1000")
	if err != nil {
		return err
	}
	v.Recs = toOptions(recs, true)
	controls, err := p.softList(r, v, "secure score controls", "/providers/Microsoft.Security/secureScoreControlDefinitions?api-version="+apiScores+"&$top=1000")
	if err != nil {
		return err
	}
	v.Controls = toOptions(controls, false)
	standards, err := p.softList(r, v, "regulatory compliance standards",
		"/subscriptions/"+sub+"/providers/Microsoft.Security/regulatoryComplianceStandards?api-version="+apiCompliance)
	if err != nil {
		return err
	}
	v.Standards = toOptions(standards, false)
	subs, err := p.subscriptions(r)
	if err != nil {
		return err
	}
	if v.Target != TargetWorkspace {
		for _, s := range subs {
			v.HubSubs = append(v.HubSubs, option{Value: s.SubscriptionID, Label: s.DisplayName + " (" + s.SubscriptionID + ")"})
		}
		return nil
	}
	for _, s := range subs {
		items, err := p.softList(r, v, "workspaces of "+s.DisplayName,
			"/subscriptions/"+s.SubscriptionID+"/providers/Microsoft.OperationalInsights/workspaces?api-version="+apiWorkspaces)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			continue
		}
		g := optGroup{Label: s.DisplayName + " (" + s.SubscriptionID + ")"}
		for _, it := range items {
			label := it.Name
			if id, err := armid.Parse(it.ID); err == nil {
				label += " — " + id.ResourceGroup
			}
			g.Options = append(g.Options, option{Value: it.ID, Label: label})
		}
		v.Workspaces = append(v.Workspaces, g)
	}
	return nil
}

// options marks the selected entries of the lists from the choices;
// chosen names missing from a list are added to it, so that they stay
// chosen.
func (v *exportView) options() {
	mark := func(list []option, chosen []string) []option {
		out := make([]option, len(list))
		copy(out, list)
		for i := range out {
			out[i].Selected = false
		}
		for _, c := range chosen {
			found := false
			for i := range out {
				if strings.EqualFold(out[i].Value, c) {
					out[i].Selected, found = true, true
				}
			}
			if !found && c != "" {
				out = append(out, option{Value: c, Label: c, Selected: true})
			}
		}
		return out
	}
	v.Recs = mark(v.Recs, v.Choices.RecommendationNames)
	v.Controls = mark(v.Controls, v.Choices.SecureScoreControlNames)
	v.Standards = mark(v.Standards, v.Choices.RegulatoryComplianceStandardNames)
	if v.Target != TargetWorkspace {
		v.markHub()
		return
	}
	found := v.Choices.WorkspaceResourceID == ""
	for gi := range v.Workspaces {
		opts := v.Workspaces[gi].Options
		for i := range opts {
			opts[i].Selected = strings.EqualFold(opts[i].Value, v.Choices.WorkspaceResourceID) && v.WorkspaceOther == ""
			found = found || opts[i].Selected
		}
	}
	if !found && v.WorkspaceOther == "" {
		v.WorkspaceOther = v.Choices.WorkspaceResourceID
	}
}

// hubFromParts builds an event hub's resource ID from the page's
// subscription, resource group, namespace and hub fields ("" unless all
// four are given; the builder validates the result).
func hubFromParts(sub, rg, ns, hub string) string {
	sub, rg, ns, hub = strings.TrimSpace(sub), strings.TrimSpace(rg), strings.TrimSpace(ns), strings.TrimSpace(hub)
	if sub == "" || rg == "" || ns == "" || hub == "" {
		return ""
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.EventHub/namespaces/" + ns + "/eventhubs/" + hub
}

// markHub fills the Event Hub picker from the chosen hub's ID (the page's
// subscription when none is chosen yet).
func (v *exportView) markHub() {
	sub := v.Sub.SubscriptionID
	if id, err := armid.Parse(v.Choices.EventHubResourceID); err == nil && id.Subscription != "" {
		sub, v.HubRG = id.Subscription, id.ResourceGroup
		parts := strings.Split(strings.TrimPrefix(strings.ToLower(v.Choices.EventHubResourceID), "/"), "/")
		raw := strings.Split(strings.TrimPrefix(v.Choices.EventHubResourceID, "/"), "/")
		for i := 0; i+1 < len(parts); i++ {
			switch parts[i] {
			case "namespaces":
				v.HubNamespace = raw[i+1]
			case "eventhubs":
				v.HubName = raw[i+1]
			}
		}
	}
	found := false
	for i := range v.HubSubs {
		v.HubSubs[i].Selected = strings.EqualFold(v.HubSubs[i].Value, sub)
		found = found || v.HubSubs[i].Selected
	}
	if !found && sub != "" {
		v.HubSubs = append(v.HubSubs, option{Value: sub, Label: sub, Selected: true})
	}
}
