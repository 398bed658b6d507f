package logsingesttest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"

	"sluice/internal/logsingesttest"
)

const (
	rule   = "dcr-0123456789abcdef0123456789abcdef"
	stream = "Custom-SecurityAlert_CL"
)

type token string

func (t token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// client is the real azlogs client pointed at the server, without its own
// retries so every answer is seen.
func client(t *testing.T, s *logsingesttest.Server, cred azcore.TokenCredential) *azlogs.Client {
	t.Helper()
	opts := &azlogs.ClientOptions{}
	opts.Transport = s.Client()
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	c, err := azlogs.NewClient(s.URL, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gz(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func status(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return 204, ""
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a ResponseError", err)
	}
	return re.StatusCode, re.ErrorCode
}

func newServer(t *testing.T, opts logsingesttest.Options) *logsingesttest.Server {
	opts.Rules = append(opts.Rules, logsingesttest.Rule{ImmutableID: rule, Streams: []string{stream}})
	s := logsingesttest.New(opts)
	t.Cleanup(s.Close)
	return s
}

func TestUploadPlainAndGzip(t *testing.T) {
	s := newServer(t, logsingesttest.Options{Verify: logsingesttest.StaticTokens("good")})
	c := client(t, s, token("good"))
	ctx := context.Background()
	if _, err := c.Upload(ctx, rule, stream, []byte(`[{"AlertName":"a","IsIncident":false}]`), nil); err != nil {
		t.Fatal(err)
	}
	body := gz(t, []byte(`[{"AlertName":"b"},{"AlertName":"c"}]`))
	if _, err := c.Upload(ctx, rule, stream, body, &azlogs.UploadOptions{ContentEncoding: to("gzip")}); err != nil {
		t.Fatal(err)
	}
	rows := s.Rows(rule, stream)
	if len(rows) != 3 || rows[0]["AlertName"] != "a" || rows[2]["AlertName"] != "c" || s.Count(rule, stream) != 3 {
		t.Fatalf("rows = %v", rows)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[1].Encoding != "gzip" || reqs[1].WireBytes != len(body) || reqs[1].RawBytes != 37 || reqs[1].Rows != 2 {
		t.Errorf("requests = %+v", reqs)
	}
}

func to(s string) *string { return &s }

func TestAuthentication(t *testing.T) {
	s := newServer(t, logsingesttest.Options{Verify: logsingesttest.StaticTokens("good")})
	code, ec := status(t, func() error {
		_, err := client(t, s, token("bad")).Upload(context.Background(), rule, stream, []byte(`[{}]`), nil)
		return err
	}())
	if code != http.StatusUnauthorized || ec != "InvalidToken" {
		t.Errorf("bad token: %d %s", code, ec)
	}
	if s.Count(rule, stream) != 0 {
		t.Error("rows stored without a valid token")
	}
}

func TestTooLarge(t *testing.T) {
	s := newServer(t, logsingesttest.Options{})
	c := client(t, s, token("any"))
	big := []byte(`[{"Description":"` + strings.Repeat("x", logsingesttest.MaxBodyBytes) + `"}]`)
	code, ec := status(t, func() error { _, err := c.Upload(context.Background(), rule, stream, big, nil); return err }())
	if code != http.StatusRequestEntityTooLarge || ec != "ContentLengthLimitExceeded" {
		t.Errorf("plain 1 MB+: %d %s", code, ec)
	}
	// Compressed it is tiny, but the limit holds for the uncompressed data too.
	small := gz(t, big)
	code, ec = status(t, func() error {
		_, err := c.Upload(context.Background(), rule, stream, small, &azlogs.UploadOptions{ContentEncoding: to("gzip")})
		return err
	}())
	if code != http.StatusRequestEntityTooLarge || ec != "ContentLengthLimitExceeded" || len(small) > 64<<10 {
		t.Errorf("gzip of %d bytes inflating past 1 MB: %d %s", len(small), code, ec)
	}
	just := []byte(`[{"Description":"` + strings.Repeat("x", logsingesttest.MaxBodyBytes-20) + `"}]`)
	if len(just) != logsingesttest.MaxBodyBytes {
		t.Fatalf("test body is %d bytes", len(just))
	}
	if _, err := c.Upload(context.Background(), rule, stream, just, nil); err != nil {
		t.Errorf("exactly 1 MB refused: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	s := newServer(t, logsingesttest.Options{})
	c := client(t, s, token("any"))
	s.Throttle(2, 3*time.Second)
	for i := 0; i < 2; i++ {
		_, err := c.Upload(context.Background(), rule, stream, []byte(`[{}]`), nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusTooManyRequests || re.RawResponse.Header.Get("Retry-After") != "3" {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := c.Upload(context.Background(), rule, stream, []byte(`[{}]`), nil); err != nil {
		t.Fatalf("after the throttled calls: %v", err)
	}
}

func TestBadRequests(t *testing.T) {
	s := newServer(t, logsingesttest.Options{})
	c := client(t, s, token("any"))
	ctx := context.Background()
	for _, tc := range []struct {
		name, rule, stream string
		body               []byte
		gzip               bool
		status             int
		code               string
	}{
		{"not json", rule, stream, []byte(`[{"a":`), false, 400, "InvalidPayload"},
		{"not an array", rule, stream, []byte(`{"a":1}`), false, 400, "InvalidPayload"},
		{"array of numbers", rule, stream, []byte(`[1,2]`), false, 400, "InvalidPayload"},
		{"unknown stream", rule, "Custom-Nope_CL", []byte(`[{}]`), false, 400, "InvalidStream"},
		{"unknown rule", "dcr-nope", stream, []byte(`[{}]`), false, 404, "NotFound"},
		{"bad gzip", rule, stream, []byte(`[{}]`), true, 400, "InvalidContentEncoding"},
	} {
		var opts *azlogs.UploadOptions
		if tc.gzip {
			opts = &azlogs.UploadOptions{ContentEncoding: to("gzip")}
		}
		_, err := c.Upload(ctx, tc.rule, tc.stream, tc.body, opts)
		if code, ec := status(t, err); code != tc.status || ec != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, ec, tc.status, tc.code)
		}
	}
	if n := s.Count(rule, stream); n != 0 {
		t.Errorf("%d rows stored from bad requests", n)
	}
}

func TestAPIVersionRequired(t *testing.T) {
	s := newServer(t, logsingesttest.Options{})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/dataCollectionRules/"+rule+"/streams/"+stream+"?api-version=2021-11-01-preview", strings.NewReader(`[{}]`))
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidApiVersion" {
		t.Errorf("old api-version: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestAuthorityWithAzidentity drives the Authority with the real
// ClientSecretCredential and checks tenant isolation on the server.
func TestAuthorityWithAzidentity(t *testing.T) {
	auth := logsingesttest.NewAuthority()
	t.Cleanup(auth.Close)
	const tenant, other = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	auth.AddClient(tenant, "app", "right-secret")
	auth.AddClient(other, "app2", "other-secret")
	s := logsingesttest.New(logsingesttest.Options{Verify: auth.Verifier("https://monitor.azure.com/"),
		Rules: []logsingesttest.Rule{{ImmutableID: rule, Streams: []string{stream}, Tenant: tenant}}})
	t.Cleanup(s.Close)
	cred := func(tenantID, clientID, secret string) azcore.TokenCredential {
		opts := &azidentity.ClientSecretCredentialOptions{DisableInstanceDiscovery: true}
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: auth.URL + "/"}
		opts.Transport = auth.Client()
		c, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	if _, err := client(t, s, cred(tenant, "app", "right-secret")).Upload(ctx, rule, stream, []byte(`[{"x":1}]`), nil); err != nil {
		t.Fatalf("right credential: %v", err)
	}
	_, err := client(t, s, cred(tenant, "app", "wrong-secret")).Upload(ctx, rule, stream, []byte(`[{}]`), nil)
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != 401 {
		t.Errorf("wrong secret: %v", err)
	}
	_, err = client(t, s, cred(other, "app2", "other-secret")).Upload(ctx, rule, stream, []byte(`[{}]`), nil)
	if code, _ := status(t, err); code != http.StatusForbidden {
		t.Errorf("token of another tenant: %d", code)
	}
	if s.Count(rule, stream) != 1 || auth.Issued() != 2 {
		t.Errorf("count %d, tokens issued %d", s.Count(rule, stream), auth.Issued())
	}
}
