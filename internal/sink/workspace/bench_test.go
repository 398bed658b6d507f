package workspace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"sluice/internal/logsingesttest"
	"sluice/internal/sink"
)

// benchEvents builds n assessment events of about 1.5 KB each.
func benchEvents(b *testing.B, n int) []sink.Message {
	var base map[string]any
	if err := json.Unmarshal(event(&testing.T{}, "schema-assessment-eventhub-sumologic.json"), &base); err != nil {
		b.Fatal(err)
	}
	// Trim the sample to a typical 1.5 KB event.
	props := base["properties"].(map[string]any)
	meta := props["metadata"].(map[string]any)
	meta["remediationDescription"] = "Apply the recommended configuration on the machine."
	meta["displayName"] = "Vulnerabilities in security configuration on your Linux machines should be remediated"
	props["displayName"] = meta["displayName"]
	details := props["resourceDetails"].(map[string]any)
	for _, k := range []string{"nativeResourceId", "resourceName", "resourceProvider", "resourceType"} {
		delete(details, k)
	}
	delete(meta, "threats")
	delete(meta, "userImpact")
	delete(meta, "implementationEffort")
	meta["description"] = "Remediate vulnerabilities in security configuration."
	delete(props["status"].(map[string]any), "description")
	delete(props, "additionalData")
	res := "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
	details["id"] = res
	props["links"] = map[string]any{"azurePortal": "portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/1f655fb7-63ca-4980-91a3-56dbc2b715c6"}
	out := make([]sink.Message, n)
	for i := range out {
		base["name"] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		base["id"] = res + "/providers/Microsoft.Security/assessments/" + base["name"].(string)
		body, _ := json.Marshal(base)
		out[i] = sink.Message{EventID: fmt.Sprintf("a-%d", i), Seq: int64(i + 1), Source: "Assessments", Body: body}
	}
	return out
}

// BenchmarkWriteBatch delivers batches of 500 events of about 1.5 KB to the
// Logs Ingestion test server through the real azlogs client (gzip, TLS,
// bearer token from the test authority).
func BenchmarkWriteBatch(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, logsingesttest.Options{Discard: true})
	b.Cleanup(func() { e.srv.Close(); e.auth.Close() })
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	batch := benchEvents(b, 500)
	size := 0
	for _, m := range batch {
		size += len(m.Body)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	events := float64(b.N * len(batch))
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	// CPU time of the whole process (sink, client, TLS and test server)
	// per event: the figure that holds on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/events, "cpu-µs/event")
	b.ReportMetric(float64(size/len(batch)), "bytes/event")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
