package amqptest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNotInTheBinary keeps the test server (and its testing import) out of
// the sluice binary.
func TestNotInTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "sluice/cmd/sluice").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "sluice/internal/amqptest" {
			t.Fatalf("the sluice binary depends on %s", pkg)
		}
	}
}
