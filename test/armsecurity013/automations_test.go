package armsecurity013

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"
)

// The demo estate's production subscription and resource groups (seeded
// by `sluice serve --demo`).
const (
	sub      = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
	rg       = "web-prod"
	otherRG  = "data-prod"
	audience = "https://management.sluice.local/"
	connStr  = "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0LWtleS12MTM=;EntityPath=alerts"
	trigger  = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sig=djEzLXNpZ25hdHVyZQ"
)

// server is a `sluice serve --demo` subprocess.
type server struct {
	url    string
	token  string
	client *http.Client
	cmd    *exec.Cmd
	stderr *strings.Builder
}

var readyRe = regexp.MustCompile(`^Sluice is ready at (https://\S+) \(CA certificate: (.+)\)$`)

// start builds cmd/sluice from the parent module and runs it on a free
// loopback port with a fresh data directory.
func start(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sluice: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	s := &server{stderr: &strings.Builder{}}
	s.cmd = exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0", "--demo")
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	// The ready line (other lines, such as the administrator's first
	// password, are skipped; the rest of the output is drained).
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m:
				default:
				}
			}
		}
	}()
	var caFile string
	select {
	case m := <-ready:
		s.url, caFile = m[1], m[2]
	case <-time.After(60 * time.Second):
		t.Fatalf("sluice did not get ready; stderr:\n%s", s.stderr)
	}
	if !filepath.IsAbs(caFile) {
		caFile = filepath.Join(filepath.Dir(bin), caFile)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		pem, err = os.ReadFile(filepath.Join(data, "tls", "ca.pem"))
	}
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in ca.pem")
	}
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	tok, err := exec.Command(bin, "token", "--data", data).Output()
	if err != nil {
		t.Fatalf("sluice token: %v", err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sluice exited with %v; stderr:\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("sluice did not stop on SIGTERM")
	}
}

type credential string

func (c credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (s *server) automations(t *testing.T) *armsecurity.AutomationsClient {
	t.Helper()
	c, err := armsecurity.NewAutomationsClient(sub, credential(s.token), &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.url, Audience: audience},
			}},
			Transport: s.client,
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func automation(scope string, action armsecurity.AutomationActionClassification) armsecurity.Automation {
	var sources []*armsecurity.AutomationSource
	for _, es := range armsecurity.PossibleEventSourceValues() {
		sources = append(sources, &armsecurity.AutomationSource{EventSource: to.Ptr(es), RuleSets: []*armsecurity.AutomationRuleSet{
			{Rules: []*armsecurity.AutomationTriggeringRule{
				{PropertyJPath: to.Ptr("properties.metadata.severity"), PropertyType: to.Ptr(armsecurity.PropertyTypeString), ExpectedValue: to.Ptr("High"), Operator: to.Ptr(armsecurity.OperatorEquals)},
				{PropertyJPath: to.Ptr("properties.score.current"), PropertyType: to.Ptr(armsecurity.PropertyTypeNumber), ExpectedValue: to.Ptr("2.5"), Operator: to.Ptr(armsecurity.OperatorGreaterThanOrEqualTo)},
			}},
			{Rules: []*armsecurity.AutomationTriggeringRule{
				{PropertyJPath: to.Ptr("Severity"), PropertyType: to.Ptr(armsecurity.PropertyTypeString), ExpectedValue: to.Ptr("high"), Operator: to.Ptr(armsecurity.OperatorContains)},
				{PropertyJPath: to.Ptr("IsIncident"), PropertyType: to.Ptr(armsecurity.PropertyTypeBoolean), ExpectedValue: to.Ptr("false"), Operator: to.Ptr(armsecurity.OperatorEquals)},
				{PropertyJPath: to.Ptr("Entities[0].Count"), PropertyType: to.Ptr(armsecurity.PropertyTypeInteger), ExpectedValue: to.Ptr("3"), Operator: to.Ptr(armsecurity.OperatorLesserThan)},
			}},
		}})
	}
	return armsecurity.Automation{
		Location: to.Ptr("westeurope"),
		Tags:     map[string]*string{"client": to.Ptr("armsecurity v0.13.0")},
		Properties: &armsecurity.AutomationProperties{
			Description: to.Ptr("2019-01-01-preview"),
			IsEnabled:   to.Ptr(true),
			Scopes:      []*armsecurity.AutomationScope{{Description: to.Ptr("scope for " + scope), ScopePath: to.Ptr(scope)}},
			Sources:     sources,
			Actions:     []armsecurity.AutomationActionClassification{action},
		},
	}
}

func resourceID(group, provider string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/" + provider
}

func statusOf(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// TestAutomationsV013 is the core flow with armsecurity v0.13.0
// (2019-01-01-preview): create and replace for every action type, get,
// list by subscription across pages and by resource group, validate, and
// delete (which this client accepts only as 204).
func TestAutomationsV013(t *testing.T) {
	s := start(t)
	client := s.automations(t)
	ctx := context.Background()
	// The demo estate has automations of its own: the counts below leave
	// them out.
	demo := map[string]bool{}
	for pager := client.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			demo[*a.Name] = true
		}
	}
	actions := map[string]armsecurity.AutomationActionClassification{
		"exportToEventHub": &armsecurity.AutomationActionEventHub{ActionType: to.Ptr(armsecurity.ActionTypeEventHub),
			EventHubResourceID: to.Ptr(resourceID(rg, "Microsoft.EventHub/namespaces/contoso-ns/eventhubs/alerts")), ConnectionString: to.Ptr(connStr)},
		"ExportToLogicApp": &armsecurity.AutomationActionLogicApp{ActionType: to.Ptr(armsecurity.ActionTypeLogicApp),
			LogicAppResourceID: to.Ptr(resourceID(rg, "Microsoft.Logic/workflows/notify")), URI: to.Ptr(trigger)},
		"ExportToSecWorkspace": &armsecurity.AutomationActionWorkspace{ActionType: to.Ptr(armsecurity.ActionTypeWorkspace),
			WorkspaceResourceID: to.Ptr(resourceID(rg, "Microsoft.OperationalInsights/workspaces/sec-ws"))},
	}
	names := []string{"ExportToLogicApp", "ExportToSecWorkspace", "exportToEventHub"}
	for _, name := range names {
		body := automation("/subscriptions/"+sub, actions[name])
		var raw *http.Response
		res, err := client.CreateOrUpdate(policy.WithCaptureResponse(ctx, &raw), rg, name, body, nil)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if raw.StatusCode != http.StatusCreated || raw.Request.URL.Query().Get("api-version") != "2019-01-01-preview" {
			t.Errorf("create %s: %d at %s", name, raw.StatusCode, raw.Request.URL.Query().Get("api-version"))
		}
		if *res.Name != name || *res.Type != "Microsoft.Security/automations" || *res.ID != resourceID(rg, "Microsoft.Security/automations/"+name) {
			t.Errorf("create %s: name %s type %s id %s", name, *res.Name, *res.Type, *res.ID)
		}
		res, err = client.CreateOrUpdate(policy.WithCaptureResponse(ctx, &raw), rg, name, body, nil)
		if err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("replace %s: %v (status %d)", name, err, raw.StatusCode)
		}
		got, err := client.Get(ctx, rg, name, nil)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		if *got.Etag != *res.Etag || *got.Location != "westeurope" || *got.Tags["client"] != "armsecurity v0.13.0" {
			t.Errorf("get %s: etag %s/%s location %s", name, *got.Etag, *res.Etag, *got.Location)
		}
		p := got.Properties
		if len(p.Sources) != len(armsecurity.PossibleEventSourceValues()) || len(p.Sources[0].RuleSets) != 2 ||
			*p.Sources[0].RuleSets[1].Rules[2].PropertyJPath != "Entities[0].Count" || *p.Scopes[0].ScopePath != "/subscriptions/"+sub {
			t.Errorf("get %s: properties not echoed: %+v", name, p)
		}
		switch a := p.Actions[0].(type) {
		case *armsecurity.AutomationActionEventHub:
			if a.ConnectionString != nil || a.SasPolicyName == nil || *a.SasPolicyName != "RootManageSharedAccessKey" {
				t.Errorf("EventHub action = %+v", a)
			}
		case *armsecurity.AutomationActionLogicApp:
			if a.URI != nil || *a.LogicAppResourceID != resourceID(rg, "Microsoft.Logic/workflows/notify") {
				t.Errorf("LogicApp action = %+v", a)
			}
		case *armsecurity.AutomationActionWorkspace:
		default:
			t.Errorf("%s: action decoded as %T", name, a)
		}
	}

	// More than a page (100) across two resource groups.
	for i := range 98 {
		group := rg
		if i%2 == 1 {
			group = otherRG
		}
		body := automation("/subscriptions/"+sub+"/resourceGroups/"+group, actions["ExportToSecWorkspace"])
		body.Properties.Sources = body.Properties.Sources[:1]
		if _, err := client.CreateOrUpdate(ctx, group, fmt.Sprintf("bulk-%02d", i), body, nil); err != nil {
			t.Fatalf("create bulk-%02d: %v", i, err)
		}
	}
	var all []string
	pages := 0
	for pager := client.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range page.Value {
			if !demo[*a.Name] {
				all = append(all, *a.Name)
			}
		}
	}
	if len(all) != 101 || pages < 2 {
		t.Errorf("list by subscription: %d automations in %d pages", len(all), pages)
	}
	inOther := 0
	for pager := client.NewListByResourceGroupPager(otherRG, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inOther += len(page.Value)
	}
	if inOther != 49 {
		t.Errorf("list by resource group: %d, want 49", inOther)
	}

	// Validate: valid, then an operator the property type forbids.
	v, err := client.Validate(ctx, rg, "candidate", automation("/subscriptions/"+sub, actions["ExportToLogicApp"]), nil)
	if err != nil || !*v.IsValid {
		t.Errorf("validate: %v %+v", err, v)
	}
	bad := automation("/subscriptions/"+sub, actions["ExportToLogicApp"])
	bad.Properties.Sources[0].RuleSets[0].Rules[0].Operator = to.Ptr(armsecurity.OperatorGreaterThan)
	v, err = client.Validate(ctx, rg, "candidate", bad, nil)
	if err != nil || *v.IsValid || !strings.Contains(*v.Message, "GreaterThan") {
		t.Errorf("validate bad: %v %+v", err, v)
	}
	_, err = client.CreateOrUpdate(ctx, rg, "candidate", bad, nil)
	if code, ec := statusOf(err); code != http.StatusBadRequest || ec != "InvalidOperator" {
		t.Errorf("create bad: %d %s", code, ec)
	}

	// Delete (204 only for this client), twice; then 404.
	for _, name := range names {
		for range 2 {
			if _, err := client.Delete(ctx, rg, name, nil); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
		}
		_, err := client.Get(ctx, rg, name, nil)
		if code, ec := statusOf(err); code != http.StatusNotFound || ec != "ResourceNotFound" {
			t.Errorf("get after delete: %d %s", code, ec)
		}
	}
	var left []string
	for pager := client.NewListByResourceGroupPager(rg, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			if !demo[*a.Name] {
				left = append(left, *a.Name)
			}
		}
	}
	if len(left) != 49 || slices.ContainsFunc(left, func(n string) bool { return !strings.HasPrefix(n, "bulk-") }) {
		t.Errorf("left in %s: %d (%v…)", rg, len(left), left[:min(3, len(left))])
	}

	// PATCH does not exist at 2019-01-01-preview.
	req, _ := http.NewRequest(http.MethodPatch, s.url+"/subscriptions/"+sub+"/resourceGroups/"+rg+
		"/providers/Microsoft.Security/automations/bulk-00?api-version=2019-01-01-preview", strings.NewReader(`{"tags":{}}`))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "InvalidApiVersionParameter") {
		t.Errorf("PATCH at 2019-01-01-preview: %d %s", resp.StatusCode, body)
	}

	// Secrets never reach the server's log.
	s.stop(t)
	for _, secret := range []string{connStr, "c2VjcmV0LWtleS12MTM", trigger, "djEzLXNpZ25hdHVyZQ"} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Errorf("the server log holds a secret (%.12s…)", secret)
		}
	}
}
