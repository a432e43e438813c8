// Package notebooks holds nnq's GoNB notebooks (one chapter of Arm's
// "Converting a Neural Network for Arm Cortex-M with CMSIS-NN" guide each)
// and run.sh, which executes them headless and fails on any error. This
// test proves the runner catches broken notebooks.
package notebooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// needJupyter skips the test unless Debian's Jupyter and GoNB's kernel are
// installed (scripts/install-deps.sh installs both).
func needJupyter(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: executing notebooks starts Jupyter kernels")
	}
	jupyter := "/usr/bin/jupyter"
	if _, err := os.Stat(jupyter); err != nil {
		if jupyter, err = exec.LookPath("jupyter"); err != nil {
			testenv.Missing(t, "jupyter is not installed (scripts/install-deps.sh)")
		}
	}
	gonb, err := exec.LookPath("gonb")
	if err != nil {
		out, gerr := exec.Command("go", "env", "GOPATH").Output()
		if gerr != nil {
			testenv.Missing(t, "gonb is not installed (go env GOPATH failed: %v)", gerr)
		}
		gonb = filepath.Join(strings.TrimSpace(string(out)), "bin", "gonb")
		if _, err := os.Stat(gonb); err != nil {
			testenv.Missing(t, "gonb is not installed (scripts/install-deps.sh)")
		}
	}
	if out, err := exec.Command(jupyter, "kernelspec", "list").CombinedOutput(); err != nil || !strings.Contains(string(out), "gonb") {
		testenv.Missing(t, "the gonb kernel is not installed (gonb --install): %v", err)
	}
}

// runNotebooks runs run.sh on the given notebooks and returns its output
// and whether it succeeded.
func runNotebooks(t *testing.T, nbs ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("./run.sh", nbs...)
	cmd.Env = append(os.Environ(), "NNQ_SKIP_INSTALL=1", "NNQ_CELL_TIMEOUT=120")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run.sh: %v\n%s", err, out)
		}
	}
	return string(out), err == nil
}

func TestRunnerFailsOnBrokenNotebook(t *testing.T) {
	needJupyter(t)
	out, ok := runNotebooks(t, "testdata/broken.ipynb")
	if ok {
		t.Fatalf("run.sh passed testdata/broken.ipynb:\n%s", out)
	}
	for _, want := range []string{
		"FAIL broken.ipynb",
		"panic: assignment to entry in nil map", // the panicking cell
		"No such file or directory",             // the failing ! line ...
		"exit status 2",                         // ... and its exit status
		"undefined: undefinedName",              // the cell that does not compile
		"1 of 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run.sh output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "this cell is fine") {
		t.Errorf("run.sh reported the good cell of broken.ipynb:\n%s", out)
	}
}

func TestRunnerChecksPlotsAndPassesGoodNotebooks(t *testing.T) {
	needJupyter(t)
	out, ok := runNotebooks(t, "testdata/noplot.ipynb")
	if ok || !strings.Contains(out, "no image/png output") {
		t.Errorf("run.sh on a notebook that should plot but does not: ok=%v\n%s", ok, out)
	}
	out, ok = runNotebooks(t, "testdata/good.ipynb")
	if !ok || !strings.Contains(out, "ok   good.ipynb") || !strings.Contains(out, "all 1 ran clean") {
		t.Errorf("run.sh failed a good notebook:\n%s", out)
	}
}

func TestRunnerRejectsMissingPath(t *testing.T) {
	needJupyter(t)
	out, ok := runNotebooks(t, "testdata/no-such-notebook.ipynb")
	if ok || !strings.Contains(out, "no notebook or directory") {
		t.Errorf("run.sh on a missing path: ok=%v\n%s", ok, out)
	}
}

// TestRunnerFailsOnStaleOutputs: a notebook whose committed outputs are
// not what its code prints now (nnq changed what a cell shows) fails the
// run, and --store makes it fresh again.
func TestRunnerFailsOnStaleOutputs(t *testing.T) {
	needJupyter(t)
	b, err := os.ReadFile("testdata/good.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	const line = "exit status is printed by failing cells; this line only mentions it"
	if !strings.Contains(string(b), line) {
		t.Fatal("testdata/good.ipynb lacks its stored output line")
	}
	// Outside the repository: a file written into it would make a
	// concurrent go build of another package see a modified tree.
	nb := filepath.Join(t.TempDir(), "stale.ipynb")
	// The stored output says something else than the code prints.
	os.WriteFile(nb, []byte(strings.Replace(string(b), line+`\n"`, `an older output\n"`, 1)), 0o644)
	out, ok := runNotebooks(t, nb)
	if ok || !strings.Contains(out, "FAIL "+filepath.Base(nb)) || !strings.Contains(out, "stale outputs") || !strings.Contains(out, "an older output") {
		t.Fatalf("run.sh passed a notebook with stale outputs:\n%s", out)
	}
	// The hint names the notebook as run.sh, run from the repository
	// root, takes it.
	m := regexp.MustCompile(`run\.sh --store (\S+)\):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no --store hint:\n%s", out)
	}
	// (A notebook under the repository is named from its root, as
	// notebooks/05-export.ipynb; one outside it by its absolute path.)
	if m[1] != nb {
		t.Errorf("the hint names %s, want %s", m[1], nb)
	}
	// A code cell edited without storing again.
	edited := strings.Replace(string(b), "img.Set(3, 3,", "img.Set(4, 4,", 1)
	os.WriteFile(nb, []byte(edited), 0o644)
	out, ok = runNotebooks(t, nb)
	if ok || !strings.Contains(out, "code cells changed") {
		t.Fatalf("run.sh passed a notebook with an edited cell:\n%s", out)
	}
	// --store makes it fresh.
	if out, ok = runNotebooks(t, "--store", nb); !ok || !strings.Contains(out, "outputs stored") {
		t.Fatalf("run.sh --store:\n%s", out)
	}
	if out, ok = runNotebooks(t, nb); !ok {
		t.Fatalf("run.sh after --store:\n%s", out)
	}
	if err := checkStored(nb); err != nil {
		t.Fatal(err)
	}
}
