package automation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
)

// Permissions the caller needs on each continuous-export target, besides
// Microsoft.Security/automations/write on the automation's resource group.
// Each target lists alternatives: any one of them suffices.
const (
	PermEventHubWrite      = "Microsoft.EventHub/namespaces/eventhubs/write"
	PermEventHubListKeys   = "Microsoft.EventHub/namespaces/eventhubs/authorizationRules/listkeys/action"
	PermWorkspaceWrite     = "Microsoft.OperationalInsights/workspaces/write"
	PermSolutionRead       = "Microsoft.OperationsManagement/solutions/read"
	PermLogicAppWrite      = "Microsoft.Logic/workflows/write"
	securityCenterSolution = "SecurityCenterFree"
)

// targetCheck is one target and the permissions (alternatives) at scopes
// that let the caller write to it.
type targetCheck struct {
	resource string
	perms    []string
	scopes   []string
}

func targetChecks(actions []targetAction) []targetCheck {
	var out []targetCheck
	for _, a := range actions {
		switch {
		case strings.EqualFold(a.typ, "EventHub") && a.eventHub != "":
			out = append(out, targetCheck{a.eventHub, []string{PermEventHubWrite, PermEventHubListKeys}, []string{a.eventHub, a.eventHub}})
		case strings.EqualFold(a.typ, "Workspace") && a.workspace != "":
			out = append(out, targetCheck{a.workspace, []string{PermWorkspaceWrite, PermSolutionRead},
				[]string{a.workspace, solutionOf(a.workspace)}})
		case strings.EqualFold(a.typ, "LogicApp") && a.logicApp != "":
			out = append(out, targetCheck{a.logicApp, []string{PermLogicAppWrite}, []string{a.logicApp}})
		}
	}
	return out
}

// solutionOf is the SecurityCenterFree solution of a workspace:
// …/providers/Microsoft.OperationsManagement/solutions/SecurityCenterFree(<workspace>).
func solutionOf(workspace string) string {
	id, err := armid.Parse(workspace)
	if err != nil || id.Subscription == "" || id.ResourceGroup == "" {
		return workspace
	}
	return armid.ResourceGroupID(id.Subscription, id.ResourceGroup) + "/providers/Microsoft.OperationsManagement/solutions/" +
		securityCenterSolution + "(" + id.Name() + ")"
}

type targetAction struct {
	typ, eventHub, workspace, logicApp string
	trusted                            bool
}

func actionsOf(a *Automation) []targetAction {
	var out []targetAction
	if a == nil {
		return nil
	}
	for _, x := range a.Properties.Actions {
		out = append(out, targetAction{x.ActionType, x.EventHubResourceID, x.WorkspaceResourceID, x.LogicAppResourceID, x.IsTrustedServiceEnabled})
	}
	return out
}

func patchActionsOf(p *Patch) []targetAction {
	if p == nil || p.props == nil || p.props.Actions == nil {
		return nil
	}
	s := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	var out []targetAction
	for _, x := range *p.props.Actions {
		if x != nil {
			out = append(out, targetAction{s(x.ActionType), s(x.EventHubResourceID), s(x.WorkspaceResourceID), s(x.LogicAppResourceID),
				x.IsTrustedServiceEnabled != nil && *x.IsTrustedServiceEnabled})
		}
	}
	return out
}

// checkTargets enforces the continuous-export rule that the caller may
// write to every target: a 403 names the missing permission and the
// resource. Targets whose subscription Sluice does not know lie outside
// its estate and cannot be checked; targets in another tenant are checked
// by the tenant's own rules when the caller's token is of that tenant.
func checkTargets(ctx context.Context, actions []targetAction) error {
	az := auth.AuthorizerFrom(ctx)
	if az == nil {
		return nil
	}
	if err := checkTrusted(ctx, az, actions); err != nil {
		return err
	}
	for _, c := range targetChecks(actions) {
		ok := false
		for i, perm := range c.perms {
			err := az.Authorize(ctx, perm, c.scopes[i])
			if err == nil {
				ok = true
				break
			}
			var ae *armapi.Error
			if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusBadRequest) {
				ok = true // outside the estate
				break
			}
			if ae != nil && ae.Code == "InvalidAuthenticationTokenTenant" {
				// Another tenant: an auxiliary token of that tenant must
				// carry the permission.
				if crossTenantAllowed(ctx, az, c) {
					ok = true
					break
				}
				return armapi.Errorf(http.StatusForbidden, "LinkedAuthorizationFailed",
					"The export target '%s' is in another tenant (%s). Send a token of that tenant in the '%s' header whose principal holds '%s' on it.",
					c.resource, ae.Message, auth.HeaderAuxiliary, perm)
			}
		}
		if !ok {
			p := auth.FromContext(ctx)
			who := ""
			if p != nil {
				who = p.ObjectID
			}
			alt := ""
			for i, perm := range c.perms[1:] {
				alt += fmt.Sprintf(", or '%s' on '%s'", perm, c.scopes[i+1])
			}
			return armapi.Errorf(http.StatusForbidden, "LinkedAuthorizationFailed",
				"The client '%s' needs permission '%s' on the export target '%s'%s to export to it.",
				who, c.perms[0], c.resource, alt)
		}
	}
	return nil
}

// PermEventHubSend is the data action trusted-service delivery needs.
const PermEventHubSend = "Microsoft.EventHub/namespaces/messages/send/action"

// dataChecker reads another principal's data-plane rights.
type dataChecker interface {
	PrincipalHasData(ctx context.Context, tenant, objectID, dataAction, scope string) (bool, error)
}

// checkTrusted enforces that Sluice's own service principal ("Windows
// Azure Security Resource Provider") may send to every Event Hub an action
// exports to as a trusted service (Azure Event Hubs Data Sender on it).
func checkTrusted(ctx context.Context, az any, actions []targetAction) error {
	dc, ok := az.(dataChecker)
	p := auth.FromContext(ctx)
	if !ok || p == nil {
		return nil
	}
	for _, a := range actions {
		if !a.trusted || !strings.EqualFold(a.typ, "EventHub") || a.eventHub == "" {
			continue
		}
		has, err := dc.PrincipalHasData(ctx, p.TenantID, auth.SecurityResourceProviderID, PermEventHubSend, a.eventHub)
		var ae *armapi.Error
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusBadRequest) {
			continue // outside the estate: cannot be checked here
		}
		if err != nil {
			return err
		}
		if !has {
			return armapi.Errorf(http.StatusBadRequest, "TrustedServiceNotAuthorized",
				"Export as a trusted service needs the service principal 'Windows Azure Security Resource Provider' (%s) to hold the role 'Azure Event Hubs Data Sender' on '%s'; assign it, or use a connection string.",
				auth.SecurityResourceProviderID, a.eventHub)
		}
	}
	return nil
}

// crossTenantAllowed reports whether one of the request's auxiliary
// principals holds one of the target's permissions.
func crossTenantAllowed(ctx context.Context, az armapi.Authorizer, c targetCheck) bool {
	for _, p := range auth.AuxiliaryFrom(ctx) {
		for i, perm := range c.perms {
			if az.Authorize(auth.WithPrincipal(ctx, p), perm, c.scopes[i]) == nil {
				return true
			}
		}
	}
	return false
}
