package config

import (
	"strings"
	"testing"
)

const issuerYAML = `
auth:
  externalIssuers:
    - tenantId: 6f0b7a52-3c1d-4e2f-9a8b-7c6d5e4f3a2b
      issuer: https://login.example.com/realms/sec
      audience: https://management.sluice.local/
%s
`

func parseIssuers(t *testing.T, extra string) error {
	t.Helper()
	cfg := Default()
	return Parse([]byte(strings.Replace(issuerYAML, "%s", extra, 1)), &cfg)
}

func TestExternalIssuerSignInValidation(t *testing.T) {
	second := `
    - tenantId: 6f0b7a52-3c1d-4e2f-9a8b-7c6d5e4f3a2b
      issuer: https://idp.example.org/
      audience: api://sluice
      name: %s
      clientId: other`
	tests := []struct {
		name, extra, wantErr string
	}{
		{"no portal sign-in", ``, ""},
		{"sign-in with name", `      name: corp-sso
      clientId: sluice-portal
      clientSecret: s3cret
      scopes: [profile, email]`, ""},
		{"public client", `      name: dex1
      clientId: sluice-portal`, ""},
		{"clientId without name", `      clientId: sluice-portal`, "name: required with clientId"},
		{"upper-case name", `      name: Corp
      clientId: sluice-portal`, `"Corp" may hold only lower-case letters, digits and hyphens`},
		{"name with a slash", `      name: a/b
      clientId: sluice-portal`, "may hold only lower-case letters"},
		{"name with a space", `      name: "corp sso"
      clientId: sluice-portal`, "may hold only lower-case letters"},
		{"name without clientId", `      name: corp`, "need clientId"},
		{"secret without clientId", `      clientSecret: x`, "need clientId"},
		{"bad scope", `      name: corp
      clientId: c
      scopes: ["a b"]`, `scopes: "a b" is not a scope token`},
		{"duplicate name", `      name: corp
      clientId: c` + strings.Replace(second, "%s", "corp", 1), `auth.externalIssuers[1]: name: "corp" is used by another external issuer`},
		{"two names", `      name: corp
      clientId: c` + strings.Replace(second, "%s", "partner", 1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := parseIssuers(t, tc.extra)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid configuration refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestExternalIssuerFieldsDecode(t *testing.T) {
	cfg := Default()
	err := Parse([]byte(strings.Replace(issuerYAML, "%s", `      name: corp
      clientId: sluice-portal
      clientSecret: s3cret
      scopes: [profile]`, 1)), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := cfg.Auth.ExternalIssuers[0]
	if x.Name != "corp" || x.ClientID != "sluice-portal" || x.ClientSecret != "s3cret" || len(x.Scopes) != 1 || x.Scopes[0] != "profile" {
		t.Fatalf("decoded %+v", x)
	}
}
