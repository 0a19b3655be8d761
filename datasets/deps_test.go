package datasets

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// The interface assertions live in a test file so that the package itself does not import ssl.
var (
	_ ssl.Dataset     = (*Images)(nil)
	_ ssl.BatchFiller = (*Images)(nil)
)

func TestNoLabelMatchesSSL(t *testing.T) {
	if NoLabel != ssl.NoLabel {
		t.Fatalf("datasets.NoLabel = %d, ssl.NoLabel = %d", NoLabel, ssl.NoLabel)
	}
}

// TestDependencies guards the light import graph of package datasets: it must not depend on
// ssl, gorgonia or gonum (which ssl pulls in), so that loading images costs a caller only the
// image, compression and network libraries. It lists the non-test dependencies with go list.
func TestDependencies(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list is not available here: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "golang.org/x/image/draw") {
		t.Fatalf("go list -deps returned an implausible list (%d packages):\n%s", len(deps), out)
	}
	forbidden := []string{"github.com/selfsup/selfsup/ssl", "gorgonia.org/", "gonum.org/", "github.com/selfsup/selfsup/nn", "github.com/selfsup/selfsup/internal/"}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("package datasets depends on %s (forbidden prefix %s); keep ssl and the model libraries out of its non-test imports", d, f)
			}
		}
	}
}
