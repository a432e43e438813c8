package testenv

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Missing must skip outside CI and fail in CI: run a child test process
// with and without CI=true and look at its verdict.
func TestMissingFailsInCI(t *testing.T) {
	if os.Getenv("NNQ_TESTENV_CHILD") == "1" {
		Tool(t, "nnq-no-such-tool", "nnq-no-such-package")
		t.Fatal("Tool returned for a missing program")
	}
	for _, ci := range []string{"", "false", "true", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingFailsInCI$", "-test.v")
		cmd.Env = append(os.Environ(), "NNQ_TESTENV_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		inCI := ci == "true" || ci == "1"
		switch {
		case inCI && (err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "nnq-no-such-package")):
			t.Errorf("CI=%q: a missing tool must fail the test:\n%s", ci, out)
		case !inCI && (err != nil || !strings.Contains(string(out), "--- SKIP")):
			t.Errorf("CI=%q: a missing tool must skip the test:\n%s", ci, out)
		}
	}
}

// No test skips on a missing tool by itself: such skips go through Missing
// (a skip whose message says something is missing or not installed).
func TestToolSkipsGoThroughMissing(t *testing.T) {
	skip := regexp.MustCompile(`\.Skipf?\(.*(?i:not found|not installed|missing|no make|no cmake|no c compiler|no host c)`)
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if skip.MatchString(line) {
				t.Errorf("%s:%d skips on a missing tool without testenv.Missing: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
