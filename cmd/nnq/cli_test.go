package main

// Tests that run the built nnq binary, as a user does.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// nnqBinary builds cmd/nnq once per test run (with VCS stamping on, as a
// plain go build in a clone does) and returns its path.
func nnqBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "nnq-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "nnq")
		out, err := exec.Command("go", "build", "-buildvcs=true", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// nnqRun runs the binary with args and returns what it did.
func nnqRun(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(nnqBinary(t), args...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return r
}

// mustFile writes a file for a test.
func mustFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// gitOut runs git in the repository and returns its trimmed output.
func gitOut(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	return strings.TrimSpace(string(out)), err
}

func TestBinaryVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := nnqRun(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "module github.com/nnq-toolkit/nnq") || !strings.Contains(r.stdout, "go1.") {
			t.Fatalf("nnq %v: %s", args, r)
		}
		// go build stamps the revision when the module root is a git
		// checkout with a .git directory (not a worktree's .git file).
		root, _ := filepath.Abs("../..")
		st, err := os.Stat(filepath.Join(root, ".git"))
		rev, rerr := gitOut("rev-parse", "HEAD")
		if err != nil || !st.IsDir() || rerr != nil {
			if !strings.Contains(r.stdout, "revision unknown") {
				t.Errorf("nnq %v outside a git checkout: %s", args, r.stdout)
			}
			continue
		}
		status, _ := gitOut("status", "--porcelain")
		want := "revision " + rev
		if status != "" {
			want += " (modified)"
		}
		if !strings.Contains(r.stdout, want+",") && !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("nnq %v: want %q in\n%s", args, want, r.stdout)
		}
	}
}
