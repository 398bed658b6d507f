package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"sluice/internal/armid"
	"sluice/internal/automation"
	"sluice/internal/estate"
	"sluice/internal/security"
	"sluice/internal/store"
)

// Demo estate ids, fixed so the README can name them.
const (
	DemoGroupProduction  = "contoso-production"
	DemoGroupDevelopment = "contoso-development"
	DemoSubProduction    = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
	DemoSubShared        = "7b2d3e5f-6c0a-4e2f-8b8c-2a3f4e5d6c7b"
	DemoSubDevelopment   = "8c3e4f60-7d1b-4f3a-9c9d-3b4a5f6e7d8c"
)

// seedDemo adds, once, a demo estate to the default tenant: two management
// groups, three subscriptions and a few resource groups.
func seedDemo(ctx context.Context, st store.Store, b estate.Bootstrap, log *slog.Logger) error {
	if _, err := st.Get(ctx, kindMeta, "demo"); err == nil {
		log.Info("demo estate already seeded")
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		groups := []*estate.ManagementGroup{
			{Name: DemoGroupProduction, TenantID: b.TenantID, DisplayName: "Contoso Production", Parent: b.TenantID},
			{Name: DemoGroupDevelopment, TenantID: b.TenantID, DisplayName: "Contoso Development", Parent: b.TenantID},
		}
		for _, g := range groups {
			if err := estate.PutGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		subs := []*estate.Subscription{
			{SubscriptionID: DemoSubProduction, DisplayName: "Contoso Production", TenantID: b.TenantID, ManagementGroupID: DemoGroupProduction, State: "Enabled"},
			{SubscriptionID: DemoSubShared, DisplayName: "Contoso Shared Services", TenantID: b.TenantID, ManagementGroupID: DemoGroupProduction, State: "Enabled"},
			{SubscriptionID: DemoSubDevelopment, DisplayName: "Contoso Development", TenantID: b.TenantID, ManagementGroupID: DemoGroupDevelopment, State: "Enabled"},
		}
		rgs := map[string][]string{
			DemoSubProduction:  {"web-prod", "data-prod", "network-prod"},
			DemoSubShared:      {"identity-shared", "monitoring"},
			DemoSubDevelopment: {"web-dev", "sandbox"},
		}
		for _, s := range subs {
			if err := estate.PutSubscription(ctx, tx, s); err != nil {
				return err
			}
			for _, name := range rgs[s.SubscriptionID] {
				rg := &estate.ResourceGroup{Name: name, Location: "westeurope", Tags: map[string]string{"environment": "demo"}}
				if err := estate.PutResourceGroup(ctx, tx, s.SubscriptionID, rg); err != nil {
					return err
				}
			}
		}
		return tx.Put(ctx, &store.Record{Kind: kindMeta, Key: "demo", ID: "demo", Body: []byte(`{}`)})
	})
	if err != nil {
		return err
	}
	log.Info("seeded the demo estate", "groups", 2, "subscriptions", 3, "resource_groups", 7)
	return nil
}

// demoResources are the resources of the demo estate, per subscription and
// resource group, as ARM type/name.
var demoResources = map[string]map[string][]string{
	DemoSubProduction: {
		"web-prod":     {"Microsoft.Web/sites/contoso-web", "Microsoft.Compute/virtualMachines/web-vm-01", "Microsoft.ContainerService/managedClusters/aks-prod"},
		"data-prod":    {"Microsoft.Sql/servers/sql-prod", "Microsoft.Storage/storageAccounts/contosodata", "Microsoft.KeyVault/vaults/kv-prod", "Microsoft.DocumentDB/databaseAccounts/cosmos-prod"},
		"network-prod": {"Microsoft.Network/virtualNetworks/vnet-hub", "Microsoft.Network/applicationGateways/agw-prod", "Microsoft.Compute/virtualMachines/jumpbox"},
	},
	DemoSubShared: {
		"identity-shared": {"Microsoft.KeyVault/vaults/kv-identity", "Microsoft.Compute/virtualMachines/dc-01"},
		"monitoring":      {"Microsoft.Storage/storageAccounts/contosologs", "Microsoft.Compute/virtualMachines/grafana-vm"},
	},
	DemoSubDevelopment: {
		"web-dev": {"Microsoft.Web/sites/contoso-web-dev", "Microsoft.Compute/virtualMachines/dev-vm-01"},
		"sandbox": {"Microsoft.Compute/virtualMachines/sandbox-vm", "Microsoft.Storage/storageAccounts/contososandbox", "Microsoft.ContainerRegistry/registries/contosoacr"},
	},
}

// demoFindingKeys are the recommendations whose unhealthy assessments get
// findings (sub-assessments) in the demo.
var demoFindingKeys = map[string]string{
	"859775fd-c53e-5ade-ad1d-15930ff69736": "ServerVulnerabilityAssessment",
	"ea685bde-a557-53f2-98aa-10bc17e4c930": "ContainerRegistryVulnerability",
}

// demoPeriod is how often the demo simulation changes the security state.
const demoPeriod = 30 * time.Second

// demoStatus picks a status for a demo assessment: mostly healthy, a
// quarter unhealthy, some not applicable.
func demoStatus(r *rand.Rand) security.StatusCode {
	switch n := r.IntN(20); {
	case n < 12:
		return security.StatusHealthy
	case n < 18:
		return security.StatusUnhealthy
	}
	return security.StatusNotApplicable
}

// demoResourceIDs lists the demo resources of a subscription (and the
// subscription itself) as ARM ids.
func demoResourceIDs(sub string) []string {
	ids := []string{"/subscriptions/" + sub}
	rgs := make([]string, 0, len(demoResources[sub]))
	for rg := range demoResources[sub] {
		rgs = append(rgs, rg)
	}
	slices.Sort(rgs)
	for _, rg := range rgs {
		for _, res := range demoResources[sub][rg] {
			i := strings.LastIndex(res, "/")
			ids = append(ids, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/"+res[:i]+"/"+res[i+1:])
		}
	}
	return ids
}

func demoType(resourceID string) string {
	id, err := armid.Parse(resourceID)
	if err != nil {
		return ""
	}
	return id.Type()
}

// seedDemoSecurity adds, once, the demo's security data: assessments of
// every built-in recommendation that applies to each demo resource (and to
// each subscription), findings under unhealthy vulnerability assessments,
// and a few alerts per subscription.
func seedDemoSecurity(ctx context.Context, svc *security.Service, log *slog.Logger) error {
	if _, err := svc.Store.Get(ctx, kindMeta, "demo-security"); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	r := rand.New(rand.NewPCG(2024, 11))
	now := svc.Now()
	var assessments, findings, alerts int
	err := svc.Update(ctx, func(w *security.Writer) error {
		for _, sub := range []string{DemoSubProduction, DemoSubShared, DemoSubDevelopment} {
			resources := demoResourceIDs(sub)
			for _, rid := range resources {
				for _, rec := range svc.Catalog.ForResourceType(demoType(rid)) {
					code := demoStatus(r)
					a := &security.Assessment{Properties: security.AssessmentProperties{
						ResourceDetails: security.ResourceDetails{Source: "Azure"},
						Status:          security.AssessmentStatus{Code: code},
					}}
					if code == security.StatusNotApplicable {
						a.Properties.Status.Cause = "OffByPolicy"
						a.Properties.Status.Description = "The recommendation is disabled by a policy exemption in the demo."
					}
					if _, _, err := w.PutAssessment(ctx, rid, rec.Name, a); err != nil {
						return err
					}
					assessments++
					kind, ok := demoFindingKeys[rec.Name]
					if !ok || code != security.StatusUnhealthy {
						continue
					}
					for i := range 2 + r.IntN(3) {
						f := demoFinding(r, kind, i)
						if _, _, err := w.PutSubAssessment(ctx, a.ID, f.Name, f); err != nil {
							return err
						}
						findings++
					}
				}
			}
			bundles := []string{"VirtualMachines", "KeyVaults", "StorageAccounts", "AppServices", "ResourceManager"}
			for _, a := range security.SimulateAlerts(sub, "westeurope", bundles[:2+r.IntN(4)], now, resources) {
				if _, _, err := w.PutAlert(ctx, a, a.ID); err != nil {
					return err
				}
				alerts++
			}
		}
		return w.Tx().Put(ctx, &store.Record{Kind: kindMeta, Key: "demo-security", ID: "demo-security", Body: []byte(`{}`)})
	})
	if err != nil {
		return err
	}
	log.Info("seeded the demo security data", "assessments", assessments, "findings", findings, "alerts", alerts)
	return nil
}

var demoCVEs = []struct{ id, title, severity string }{
	{"CVE-2024-3094", "xz-utils backdoor in liblzma", "High"},
	{"CVE-2023-4863", "Heap buffer overflow in libwebp", "High"},
	{"CVE-2024-6387", "OpenSSH regreSSHion remote code execution", "High"},
	{"CVE-2023-44487", "HTTP/2 rapid reset denial of service", "Medium"},
	{"CVE-2024-21626", "runc working directory container escape", "High"},
	{"CVE-2023-38545", "curl SOCKS5 heap buffer overflow", "Medium"},
	{"CVE-2024-2961", "glibc iconv out-of-bounds write", "Low"},
}

// demoFinding returns a realistic vulnerability finding.
func demoFinding(r *rand.Rand, kind string, i int) *security.SubAssessment {
	c := demoCVEs[r.IntN(len(demoCVEs))]
	name := fmt.Sprintf("%s-%d", strings.ToLower(c.id), i)
	data := security.Object{{Key: "assessedResourceType", Value: kind},
		{Key: "cve", Value: []any{security.Object{{Key: "title", Value: c.id}, {Key: "link", Value: "https://nvd.nist.gov/vuln/detail/" + c.id}}}},
		{Key: "patchable", Value: true}, {Key: "threat", Value: "Exploit available"}}
	if kind == "ContainerRegistryVulnerability" {
		data = append(data, security.Member{Key: "repositoryName", Value: "shop/frontend"},
			security.Member{Key: "imageDigest", Value: "sha256:4a3c1f0e9b7d2c5a8f6e1d3b9c7a5e2f0d8b6c4a2e9f7d5b3c1a8e6f4d2b0c9a"})
	}
	return &security.SubAssessment{Name: name, Properties: security.SubAssessmentProperties{
		ID:              c.id,
		DisplayName:     c.title,
		Status:          security.SubAssessmentStatus{Code: security.StatusUnhealthy, Severity: c.severity},
		Remediation:     "Update the affected package to the fixed version published by the vendor.",
		Impact:          "An attacker could exploit this vulnerability to compromise the workload.",
		Category:        "Vulnerability",
		Description:     c.title + " (" + c.id + ").",
		ResourceDetails: security.ResourceDetails{Source: "Azure"},
		AdditionalData:  data,
	}}
}

// demoSimulator changes the demo's security state every period: a few
// assessments flip between Healthy and Unhealthy (so secure scores and
// compliance move), and now and then an alert is raised or resolved.
type demoSimulator struct {
	svc    *security.Service
	log    *slog.Logger
	period time.Duration
	notify func()
	rand   *rand.Rand
	ticks  int
}

func (d *demoSimulator) run(ctx context.Context) {
	d.rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t := time.NewTicker(d.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.step(ctx); err != nil {
			if errors.Is(err, store.ErrClosed) || ctx.Err() != nil {
				return
			}
			d.log.Warn("demo simulation step failed", "err", err)
		}
	}
}

func (d *demoSimulator) step(ctx context.Context) error {
	d.ticks++
	subs := []string{DemoSubProduction, DemoSubShared, DemoSubDevelopment}
	sub := subs[d.rand.IntN(len(subs))]
	recs, err := d.svc.Store.List(ctx, store.ListOptions{Kind: security.KindAssessment, Prefix: "/subscriptions/" + sub + "/"})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	flips, events := 0, 0
	err = d.svc.Update(ctx, func(w *security.Writer) error {
		for range 3 + d.rand.IntN(4) {
			rec := recs[d.rand.IntN(len(recs))]
			var a security.Assessment
			if err := json.Unmarshal(rec.Body, &a); err != nil {
				return err
			}
			switch a.Properties.Status.Code {
			case security.StatusHealthy:
				a.Properties.Status.Code = security.StatusUnhealthy
			case security.StatusUnhealthy:
				a.Properties.Status.Code = security.StatusHealthy
			default:
				continue
			}
			rid, key, err := security.ParseAssessmentID(a.ID)
			if err != nil {
				return err
			}
			if _, _, err := w.PutAssessment(ctx, rid, key, &a); err != nil {
				return err
			}
			flips++
		}
		if d.ticks%4 == 0 {
			b := security.SimulationBundles[d.rand.IntN(len(security.SimulationBundles))]
			for _, a := range security.SimulateAlerts(sub, "westeurope", []string{b}, d.svc.Now(), demoResourceIDs(sub)) {
				if _, _, err := w.PutAlert(ctx, a, a.ID); err != nil {
					return err
				}
			}
		}
		events = w.Events
		return nil
	})
	if err != nil {
		return err
	}
	if events > 0 && d.notify != nil {
		d.notify()
	}
	d.log.Debug("demo simulation step", "subscription", sub, "flips", flips, "events", events)
	return nil
}

// Demo workspace: the embedded Log Analytics workspace of --demo and the
// automation exporting into it.
const (
	DemoWorkspaceName     = "security-ws"
	DemoWorkspaceRG       = "monitoring"
	DemoWorkspaceSub      = DemoSubShared
	DemoWorkspaceAutomate = "ExportToWorkspace"
	// The automation lives in, and exports, the production subscription
	// (an automation's scopes stay within its subscription).
	DemoAutomationSub = DemoSubProduction
	DemoAutomationRG  = "web-prod"
)

// seedDemoWorkspace creates, once, the workspace security-ws in the
// monitoring resource group of the shared subscription and the automation
// ExportToWorkspace (web-prod) that exports the production subscription's
// alerts, assessments, secure scores, controls and regulatory compliance
// into it.
func (s *Server) seedDemoWorkspace(ctx context.Context) error {
	if _, err := s.Store.Get(ctx, kindMeta, "demo-workspace"); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	rg, err := s.Estate.ResourceGroup(ctx, s.Store, DemoWorkspaceSub, DemoWorkspaceRG)
	if err != nil {
		return fmt.Errorf("demo workspace resource group: %w", err)
	}
	ws, _, err := s.Workspaces.Put(ctx, DemoWorkspaceSub, rg, DemoWorkspaceName, []byte(`{"location":"westeurope","properties":{"sku":{"name":"PerGB2018"},"retentionInDays":30}}`))
	if err != nil {
		return fmt.Errorf("demo workspace: %w", err)
	}
	var sources []any
	for _, src := range []string{"Alerts", "Assessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment"} {
		sources = append(sources, map[string]any{"eventSource": src})
	}
	scopes := []any{map[string]any{"description": "Contoso Production", "scopePath": "/subscriptions/" + DemoAutomationSub}}
	body, err := json.Marshal(map[string]any{"location": "westeurope", "properties": map[string]any{
		"description": "Exports Contoso Production's security data into the embedded workspace security-ws.",
		"isEnabled":   true, "scopes": scopes, "sources": sources,
		"actions": []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": ws.ID}},
	}})
	if err != nil {
		return err
	}
	a, err := automation.Parse(body)
	if err != nil {
		return fmt.Errorf("demo automation: %w", err)
	}
	arg, err := s.Estate.ResourceGroup(ctx, s.Store, DemoAutomationSub, DemoAutomationRG)
	if err != nil {
		return fmt.Errorf("demo automation resource group: %w", err)
	}
	ref := automation.Ref{Subscription: DemoAutomationSub, ResourceGroup: arg.Name, Name: DemoWorkspaceAutomate}
	if _, _, err := s.Automations.Put(ctx, ref, a, automation.Conditions{}); err != nil {
		return fmt.Errorf("demo automation: %w", err)
	}
	if err := s.Store.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, &store.Record{Kind: kindMeta, Key: "demo-workspace", ID: "demo-workspace", Body: []byte(`{}`)})
	}); err != nil {
		return err
	}
	s.Log.Info("created the demo workspace and its export", "workspace", ws.ID, "customerId", ws.Properties.CustomerID, "automation", DemoWorkspaceAutomate)
	return nil
}
