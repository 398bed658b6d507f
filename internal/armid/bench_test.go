package armid_test

import (
	"testing"

	"sluice/internal/armid"
)

func BenchmarkParse(b *testing.B) {
	id := "/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg12/providers/Microsoft.Compute/virtualMachines/vm-0001234"
	b.ReportAllocs()
	for range b.N {
		if _, err := armid.Parse(id); err != nil {
			b.Fatal(err)
		}
	}
}
