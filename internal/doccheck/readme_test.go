// Package doccheck tests that the README describes the repository alone
// and states what a new user needs.
package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every relative link of the README and docs/*.md names a file of the
// repository (a clone has nothing beside it).
func TestDocLinksStayInTheRepository(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"), filepath.Join(root, "ARCHITECTURE.md"))
	link := regexp.MustCompile(`\]\(([^)#\s]+)[^)]*\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			p := filepath.Clean(filepath.Join(filepath.Dir(f), target))
			rel, err := filepath.Rel(root, p)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links %s, outside the repository", f, target)
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links %s, which does not exist", f, target)
			}
		}
	}
}

// The README speaks of the repository, not of the machine it was written
// on, and says what a new user needs to know.
func TestReadmeStatesWhatANewUserNeeds(t *testing.T) {
	s := readme(t)
	flat := strings.Join(strings.Fields(s), " ")
	for _, banned := range []string{"../shared", "this machine", "/work/"} {
		if strings.Contains(s, banned) {
			t.Errorf("README.md mentions %q", banned)
		}
	}
	for what, re := range map[string]string{
		"the distribution":           `Debian or Ubuntu`,
		"root or sudo for apt":       `root or sudo\*\* for .apt-get`,
		"network access":             `network access`,
		"make demo's cold time":      "make demo +# about [0-9]+(–[0-9]+)? minutes cold",
		"make test's time":           "make test +# about [0-9]+(–[0-9]+)? minutes",
		"the core count of the time": `2-core machine`,
		"NNQ_NOTEBOOK_OUT":           "`NNQ_NOTEBOOK_OUT=DIR make test` keeps the executed notebooks",
		"CI failing on skips":        "`CI=true`; then a test that would skip because a tool is missing",
		"cmake installed":            "`cmake`",
		"a Limits section":           `## Limits`,
		"the real-library test path": `its tests check this build path with a stand-in tree`,
		"the per-argument limit":     `each argument of its kernel is at most 65535`,
	} {
		if !regexp.MustCompile(re).MatchString(flat) {
			t.Errorf("README.md does not state %s (/%s/)", what, re)
		}
	}
	// The old, wrong limit: tensors are not refused by size.
	if strings.Contains(flat, "Tensors larger than 65535 elements are refused") {
		t.Error("README.md still says tensors larger than 65535 elements are refused")
	}
}
