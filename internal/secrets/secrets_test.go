package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	const cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc123=;EntityPath=hub"
	sealed, err := b.Seal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "abc123") || !strings.HasPrefix(sealed, prefix) {
		t.Fatalf("sealed value leaks or lacks prefix: %q", sealed)
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Open(sealed)
	if err != nil || got != cs {
		t.Fatalf("Open = %q, %v; want the original", got, err)
	}
	info, err := os.Stat(filepath.Join(dir, "keys", "secrets.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", info, err)
	}
	other, _ := LoadOrCreate(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("a different key opened the secret")
	}
	if _, err := b.Open(sealed[:len(sealed)-2] + "AA"); err == nil {
		t.Fatal("a tampered value opened")
	}
	if _, err := b.Open("plain"); err == nil {
		t.Fatal("an unsealed value opened")
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, leak string
		known          []string
	}{
		{"connection_string_key", "dial: Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=S3cr3t+/=;EntityPath=h failed", "S3cr3t", nil},
		{"sas_signature_in_url", `Post "https://prod.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016&sp=%2Ftriggers&sv=1.0&sig=AbCdEf123": timeout`, "AbCdEf123", nil},
		{"bearer_token", "Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi", nil},
		{"known_literal", "the password hunter2xyz was refused", "hunter2xyz", []string{"hunter2xyz"}},
		{"password_pair", "Password=topsecret;User=x", "topsecret", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.in, tc.known...)
			if strings.Contains(got, tc.leak) {
				t.Fatalf("Redact(%q) = %q still contains %q", tc.in, got, tc.leak)
			}
			if !strings.Contains(got, Redacted) {
				t.Fatalf("Redact(%q) = %q has no marker", tc.in, got)
			}
		})
	}
}
