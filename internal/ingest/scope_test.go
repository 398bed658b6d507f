package ingest

import "testing"

func TestSubscriptionOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/subscriptions/abc", "/subscriptions/abc"},
		{"/subscriptions/abc/resourceGroups/rg1", "/subscriptions/abc"},
		{"/SUBSCRIPTIONS/abc/resourceGroups/rg1/providers/x/y/z", "/SUBSCRIPTIONS/abc"},
		{"/subscriptions/", ""},
		{"/providers/Microsoft.Management/managementGroups/mg", ""},
		{"", ""},
	} {
		got, ok := subscriptionOf(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("subscriptionOf(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
