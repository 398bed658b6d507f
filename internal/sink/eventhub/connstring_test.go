package eventhub_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/sink/eventhub"
)

const secretKey = "S3cr3tK3yV4lue+/="

func TestParseConnectionString(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want eventhub.ConnectionString
	}{
		{"portal", "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=" + secretKey + ";EntityPath=alerts",
			eventhub.ConnectionString{Endpoint: "sb://contoso.servicebus.windows.net/", Namespace: "contoso.servicebus.windows.net",
				SharedAccessKeyName: "send", SharedAccessKey: secretKey, EntityPath: "alerts"}},
		{"emulator_with_port_any_case_and_trailing_semicolon", "endpoint=sb://127.0.0.1:5672;sharedaccesskeyname=k;SHAREDACCESSKEY=" + secretKey + ";EntityPath=hub;UseDevelopmentEmulator=true;",
			eventhub.ConnectionString{Endpoint: "sb://127.0.0.1:5672", Namespace: "127.0.0.1:5672", SharedAccessKeyName: "k",
				SharedAccessKey: secretKey, EntityPath: "hub", UseDevelopmentEmulator: true}},
		{"signature", "Endpoint=sb://ns.servicebus.windows.net;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=k;EntityPath=h",
			eventhub.ConnectionString{Endpoint: "sb://ns.servicebus.windows.net", Namespace: "ns.servicebus.windows.net",
				SharedAccessSignature: "SharedAccessSignature sr=x&sig=y&se=1&skn=k", EntityPath: "h"}},
		{"kafka_extension_and_unknown_keys", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + secretKey + ";EntityPath=h;TransportType=Kafka;OperationTimeout=30",
			eventhub.ConnectionString{Endpoint: "sb://ns.servicebus.windows.net/", Namespace: "ns.servicebus.windows.net",
				SharedAccessKeyName: "k", SharedAccessKey: secretKey, EntityPath: "h", TransportType: "Kafka"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventhub.ParseConnectionString(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	if cs, _ := eventhub.ParseConnectionString(cases[3].in); !cs.Kafka() {
		t.Fatal("TransportType=Kafka not reported")
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	const base = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + secretKey + ";EntityPath=hub"
	cases := map[string]struct{ in, want string }{
		"empty":            {"  ", "is empty"},
		"no_equals":        {"Endpoint=sb://ns/;garbage", "part 2 is not Key=Value"},
		"empty_key":        {base + ";=" + secretKey, "part 5 is not Key=Value"},
		"duplicate":        {base + ";sharedaccesskey=other", "sets SharedAccessKey twice"},
		"no_endpoint":      {"SharedAccessKeyName=k;SharedAccessKey=" + secretKey + ";EntityPath=hub", "no Endpoint"},
		"https_endpoint":   {strings.Replace(base, "sb://", "https://", 1), "must be an sb:// URL"},
		"endpoint_no_host": {strings.Replace(base, "sb://ns.servicebus.windows.net/", "sb:///", 1), "must be an sb:// URL"},
		"endpoint_path":    {strings.Replace(base, "windows.net/", "windows.net/hub", 1), "put the event hub in EntityPath"},
		"bad_port":         {strings.Replace(base, "windows.net/", "windows.net:99999/", 1), "invalid port"},
		"no_key_name":      {strings.Replace(base, "SharedAccessKeyName=k;", "", 1), "no SharedAccessKeyName"},
		"no_key":           {strings.Replace(base, ";SharedAccessKey="+secretKey, "", 1), "no SharedAccessKey"},
		"key_and_sas":      {base + ";SharedAccessSignature=SharedAccessSignature sr=a&sig=b", "both SharedAccessKey and SharedAccessSignature"},
		"bad_sas":          {"Endpoint=sb://ns/;SharedAccessSignature=" + secretKey + ";EntityPath=hub", "must start with"},
		"no_entity_path":   {strings.Replace(base, ";EntityPath=hub", "", 1), "no EntityPath"},
		"bad_entity_path":  {strings.Replace(base, "EntityPath=hub", "EntityPath=a/b", 1), "not a valid event hub name"},
		"bad_emulator":     {base + ";UseDevelopmentEmulator=maybe", "true or false"},
		"bad_transport":    {base + ";TransportType=Carrier", "TransportType must be"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := eventhub.ParseConnectionString(tc.in)
			if err == nil {
				t.Fatalf("accepted %q", tc.in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func FuzzParseConnectionString(f *testing.F) {
	f.Add("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + secretKey + ";EntityPath=hub")
	f.Add("Endpoint=sb://127.0.0.1:1;SharedAccessSignature=SharedAccessSignature sr=a;EntityPath=h;UseDevelopmentEmulator=1")
	f.Add(";;=;Endpoint")
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := eventhub.ParseConnectionString(s)
		if err != nil {
			// Errors never echo the key, wherever it sits in the input.
			if strings.Contains(s, secretKey) && strings.Contains(err.Error(), secretKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
			return
		}
		if cs.Namespace == "" || cs.EntityPath == "" || (cs.SharedAccessKey == "" && cs.SharedAccessSignature == "") {
			t.Fatalf("accepted an incomplete connection string %q: %+v", s, cs)
		}
	})
}
