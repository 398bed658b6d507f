package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// TestPortalSignInAudited signs in through the portal's form over HTTPS
// and checks the audit log: one sign-in entry under the administrator,
// the API calls of the pages under the same principal, and no anonymous
// entries for the portal's own requests (the form carries the password).
func TestPortalSignInAudited(t *testing.T) {
	dir := t.TempDir()
	env := servertest.New(t, servertest.WithData(dir))
	pw := env.Server.InitialPassword
	if len(pw) < 20 {
		t.Fatalf("initial administrator password %q: want a random one of 20 characters", pw)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: env.Client.Transport, Jar: jar}
	form := url.Values{"username": {"admin"}, "password": {pw}, "next": {"/portal/environment"}}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/portal/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/portal/environment" {
		t.Fatalf("sign-in ended at %s with %d, want the environment page", resp.Request.URL, resp.StatusCode)
	}

	r, body := env.Do(http.MethodGet, "/providers/Sluice.Audit/events?api-version=2024-01-01", env.Token, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("audit: %d %s", r.StatusCode, body)
	}
	if strings.Contains(string(body), pw) {
		t.Fatal("the audit log contains the password")
	}
	var page struct {
		Value []struct {
			PrincipalID string `json:"principalId"`
			Method      string `json:"method"`
			Path        string `json:"path"`
			Status      int    `json:"status"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	signIns := 0
	for _, e := range page.Value {
		if strings.HasPrefix(e.Path, "/portal/") {
			if e.Path != "/portal/login" || e.PrincipalID != env.AdminID {
				t.Errorf("unexpected portal audit entry %+v", e)
			}
			signIns++
		}
	}
	if signIns != 1 {
		t.Fatalf("%d sign-in entries in the audit log, want 1: %s", signIns, body)
	}
}

// TestInitialPasswordOnce: the administrator's password is created (and
// shown) at the first start only.
func TestInitialPasswordOnce(t *testing.T) {
	dir := t.TempDir()
	first := servertest.New(t, servertest.WithData(dir))
	if first.Server.InitialPassword == "" {
		t.Fatal("no initial password at the first start")
	}
	first.HTTP.Close()
	first.Server.Store.Close()
	second := servertest.New(t, servertest.WithData(dir))
	if second.Server.InitialPassword != "" {
		t.Fatal("a restart created a new administrator password")
	}
}

// TestSubscriptionListPartialReaders: as in Azure, GET /subscriptions
// lists a subscription to a caller with read on one of its resource
// groups, and nothing to a caller without any role.
func TestSubscriptionListPartialReaders(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	list := func(token string) []string {
		t.Helper()
		resp, body := env.Do(http.MethodGet, "/subscriptions?api-version=2022-12-01", token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list subscriptions: %d %s", resp.StatusCode, body)
		}
		var page struct {
			Value []struct {
				SubscriptionID string `json:"subscriptionId"`
			} `json:"value"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range page.Value {
			ids = append(ids, v.SubscriptionID)
		}
		return ids
	}
	rgReader := grantRole(t, env, uuid.NewString(), auth.RoleReader,
		"/subscriptions/"+server.DemoSubShared+"/resourceGroups/monitoring")
	if got := list(rgReader); len(got) != 1 || got[0] != server.DemoSubShared {
		t.Fatalf("a resource-group reader lists %v, want only %s", got, server.DemoSubShared)
	}
	if got := list(env.TokenFor(env.TenantID, uuid.NewString())); len(got) != 0 {
		t.Fatalf("a principal without roles lists %v", got)
	}
	if got := list(env.Token); len(got) != 3 {
		t.Fatalf("the administrator lists %v, want the 3 demo subscriptions", got)
	}
}
