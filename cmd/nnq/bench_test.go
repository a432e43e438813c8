package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The benchmark command runs every measurement on a small network and
// writes both files.
func TestBenchOnToyNet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, "docs")
	var so, se bytes.Buffer
	code := run([]string{"bench", "--nets", "toy=" + model + "," + patterns, "--runs", "1", "--out", out, "--max-calib", "100", "--search-val", "30"}, &so, &se)
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, se.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Accuracy", "| toy |", "search:auto", "| 8 | auto |", "percentile:99.99", "arena", "Go simulator", "commit:"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	var rep benchReport
	b, _ := os.ReadFile(filepath.Join(out, "benchmarks.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	n := rep.Networks[0]
	if len(n.Schemes) != 12 || n.Memory["q7"].Arena == 0 || n.SimPerSec <= 0 || n.HostCPerSec <= 0 || !n.HostBitExact {
		t.Errorf("bench results incomplete: %+v", n)
	}
	if n.M4 != nil && (n.M4.InstructionsPerInference == 0 || !n.M4.BitExact || n.M4.Text == 0) {
		t.Errorf("Cortex-M4 results: %+v", n.M4)
	}
	// The runtime section is part of the full report: per layer, nnq's
	// kernels (and the library's, where CMSIS_PATH names one) per MAC.
	if rep.Runtime == nil || len(rep.Runtime.Rows) != 2 || rep.Runtime.Rows[0].NNQ == nil || !rep.Runtime.Rows[0].NNQ.BitExact {
		t.Fatalf("runtime section: %+v", rep.Runtime)
	}
	for _, want := range []string{"## nnq's kernels next to the CMSIS-NN library", "### toy q7", "### toy q15", "| c1 | `nnq_conv_q7", "per MAC"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	if lib := os.Getenv("CMSIS_PATH"); lib != "" {
		if v := rep.Runtime.Library; v == "" || strings.Contains(v, lib) || rep.Runtime.Rows[0].Library == nil {
			t.Errorf("library %q (CMSIS_PATH %s): want its version, not its path, and its counts", v, lib)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "BENCHMARKS_RUNTIME.md")); err != nil {
		t.Error(err)
	}
}

// best names the most accurate scheme, and the default on a tie.
func TestBestPrefersTheDefaultOnATie(t *testing.T) {
	s := []schemeResult{{Bits: 8, Scheme: "minmax", Accuracy: 0.9}, {Bits: 8, Scheme: "percentile:99.9", Accuracy: 0.95},
		{Bits: 8, Scheme: "auto", Accuracy: 0.95}, {Bits: 8, Scheme: "search:auto", Accuracy: 0.95}, {Bits: 16, Scheme: "mse", Accuracy: 0.99}}
	if b := best(s, 8); b.Scheme != "auto" {
		t.Errorf("best q7 %s, want auto", b.Scheme)
	}
	s[2].Accuracy = 0.94
	if b := best(s, 8); b.Scheme != "percentile:99.9" {
		t.Errorf("best q7 %s, want percentile:99.9", b.Scheme)
	}
	if b := best(s, 16); b.Scheme != "mse" {
		t.Errorf("best q15 %s, want mse", b.Scheme)
	}
}

// gitCommit marks uncommitted code, not the reports the bench itself
// rewrites under docs/.
func TestGitCommitIgnoresDocs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("main.go", "package main\n")
	write("docs/BENCHMARKS.md", "old\n")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	t.Chdir(dir)
	if c := gitCommit(); strings.Contains(c, "uncommitted") || c == "unknown" {
		t.Fatalf("clean tree: %q", c)
	}
	write("docs/BENCHMARKS.md", "new\n")
	if c := gitCommit(); strings.Contains(c, "uncommitted") {
		t.Errorf("a rewritten report: %q", c)
	}
	write("main.go", "package main\n\nfunc f() {}\n")
	if c := gitCommit(); !strings.Contains(c, "uncommitted") {
		t.Errorf("changed code: %q", c)
	}
}
