package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"postmortem": func() { os.Exit(Main(os.Args[1:], DefaultIO())) },
	})
}

// TestScripts runs the acceptance tests in testdata/script/*.txtar. The
// incident fixtures of the repository are reachable as $INCIDENTS.
func TestScripts(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("INCIDENTS", filepath.Join(root, "testdata", "incidents"))
			return nil
		},
	})
}
