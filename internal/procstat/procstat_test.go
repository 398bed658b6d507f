package procstat

import "testing"

func TestCPUGrowsWithWork(t *testing.T) {
	before := CPU()
	x := 0
	for i := range 50_000_000 {
		x ^= i * 7
	}
	if x == 42 {
		t.Log(x)
	}
	if after := CPU(); after <= before {
		t.Fatalf("CPU time %v after a busy loop, %v before", after, before)
	}
}
