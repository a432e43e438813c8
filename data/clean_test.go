package data_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// make -C data clean removes generated files only: nothing it removes is
// committed (the networks, patterns and clips are).
func TestCleanRemovesNoCommittedFile(t *testing.T) {
	mk := testenv.Tool(t, "make", "make")
	git := testenv.Tool(t, "git", "git")
	if err := exec.Command(git, "rev-parse", "--git-dir").Run(); err != nil {
		testenv.Missing(t, "not a git checkout: %v", err)
	}
	out, err := exec.Command(mk, "-n", "clean").Output()
	if err != nil {
		t.Fatalf("make -n clean: %v", err)
	}
	var removed []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "rm" {
			continue
		}
		for _, a := range f[1:] {
			if !strings.HasPrefix(a, "-") {
				removed = append(removed, a)
			}
		}
	}
	if !slices.Contains(removed, "build") {
		t.Errorf("clean does not remove build/: %q", out)
	}
	for _, p := range removed {
		tracked, err := exec.Command(git, "ls-files", "--", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if len(tracked) > 0 {
			t.Errorf("make clean removes %s, which holds committed files:\n%s", p, tracked)
		}
	}
}
