package automation

import "testing"

// TestCarryTrustedSwitch: an Event Hub action written again without its
// connection string keeps the stored one, unless the write switches it to
// trusted-service delivery, which needs none.
func TestCarryTrustedSwitch(t *testing.T) {
	const hub = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/h"
	const cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0;EntityPath=h"
	old := Action{ActionType: ActionEventHub, EventHubResourceID: hub, ConnectionString: cs}

	same := Action{ActionType: ActionEventHub, EventHubResourceID: hub}
	if !same.carryFrom(&old) || same.ConnectionString != cs {
		t.Fatalf("a plain rewrite lost the connection string: %+v", same)
	}
	trusted := Action{ActionType: ActionEventHub, EventHubResourceID: hub, IsTrustedServiceEnabled: true}
	if !trusted.carryFrom(&old) || trusted.ConnectionString != "" {
		t.Fatalf("a switch to trusted service kept the connection string: %+v", trusted)
	}
	oldTrusted := Action{ActionType: ActionEventHub, EventHubResourceID: hub, ConnectionString: cs, IsTrustedServiceEnabled: true}
	again := Action{ActionType: ActionEventHub, EventHubResourceID: hub, IsTrustedServiceEnabled: true}
	if !again.carryFrom(&oldTrusted) || again.ConnectionString != cs {
		t.Fatalf("a trusted action written back lost its stored connection string: %+v", again)
	}
}
