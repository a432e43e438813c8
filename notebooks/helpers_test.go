package notebooks

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The two setup cells every notebook starts with (notebooks/README.md,
// "How a notebook starts"): the module cell points GoNB's module at this
// checkout, the import cell brings in nnq and the shared helpers, nnq/nb.
const (
	moduleCell = `!*go mod edit -require=github.com/nnq-toolkit/nnq@v0.0.0 "-replace=github.com/nnq-toolkit/nnq=${GONB_DIR}/.." && out=$(go get github.com/nnq-toolkit/nnq/...@v0.0.0 github.com/janpfeifer/gonb@v0.11.1 2>&1) || { echo "$out"; exit 1; } # use this checkout as module github.com/nnq-toolkit/nnq (notebooks/README.md)`
	importCell = "import (\n\t\"github.com/nnq-toolkit/nnq/nnq\"\n\t\"github.com/nnq-toolkit/nnq/nnq/nb\"\n)"
)

// maxFuncs is how many functions one code cell may declare: a few helpers
// for the cells below it (a loader, a plot of this chapter) are part of the
// story; more are a helper cell, whose place is nnq/nb.
const maxFuncs = 4

// funcDecl finds a cell's top-level function declarations (methods too).
var funcDecl = regexp.MustCompile(`(?m)^func\s+(?:\([^)]*\)\s*)?(\w+)`)

// nbFuncs are the exported functions of package nnq/nb, lower-cased: a
// notebook that declares one of these names (must, show, markdown,
// progress, data, showRow …) carries its own copy of a shared helper.
func nbFuncs(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../nnq/nb/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nnq/nb sources: %v", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
				names[strings.ToLower(fd.Name.Name)] = true
			}
		}
	}
	for _, want := range []string{"must", "show", "showrow", "markdown", "progress", "data", "cache", "audio"} {
		if !names[want] {
			t.Fatalf("nnq/nb has no %s: the list of shared helpers is wrong", want)
		}
	}
	return names
}

// checkHelpers reports how a notebook departs from the shared pattern: its
// first two code cells are not the setup cells, another cell sets up the
// module again, a cell talks to GoNB itself instead of through nnq/nb,
// declares more than maxFuncs functions, or declares a function nnq/nb
// already has. A cell with GoNB widgets may import GoNB's packages.
func checkHelpers(path string, shared map[string]bool) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return []error{fmt.Errorf("%s: %v", path, err)}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(path+": "+format, a...)) }
	n := 0
	for i, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		src := strings.TrimSpace(text(c.Source))
		n++
		where := fmt.Sprintf("cell %d", i)
		switch {
		case n == 1 && src != moduleCell:
			bad("%s: the first code cell is not the shared module cell (copy it from any notebook):\n%s", where, src)
		case n == 2 && src != importCell:
			bad("%s: the second code cell is not the shared import of nnq and nnq/nb:\n%.300s", where, src)
		case n > 2 && strings.Contains(src, "go mod edit"):
			bad("%s: sets up the module again", where)
		}
		// Widgets are GoNB's alone (notebook 07's controls); everything
		// else a cell shows, caches or reports goes through nnq/nb.
		if strings.Contains(src, `"github.com/janpfeifer/gonb/`) && !strings.Contains(src, `"github.com/janpfeifer/gonb/gonbui/widgets"`) {
			bad("%s: imports GoNB's packages: show, cache and draw progress through nnq/nb", where)
		}
		decls := funcDecl.FindAllStringSubmatch(src, -1)
		if len(decls) > maxFuncs {
			var names []string
			for _, d := range decls {
				names = append(names, d[1])
			}
			bad("%s: declares %d functions (%s), more than %d: move shared helpers into nnq/nb", where, len(decls), strings.Join(names, ", "), maxFuncs)
		}
		for _, d := range decls {
			if shared[strings.ToLower(d[1])] {
				bad("%s: declares %s, a copy of nb.%s", where, d[1], d[1])
			}
		}
	}
	if n < 2 {
		bad("fewer than two code cells: no setup cells")
	}
	return errs
}

// TestNotebooksShareTheHelpers keeps helper cells out of the notebooks:
// every notebook starts with the same two setup cells and takes its helpers
// from nnq/nb.
func TestNotebooksShareTheHelpers(t *testing.T) {
	shared := nbFuncs(t)
	nbs, err := filepath.Glob("*.ipynb")
	if err != nil || len(nbs) == 0 {
		t.Fatalf("no notebooks: %v", err)
	}
	for _, p := range nbs {
		for _, err := range checkHelpers(p, shared) {
			t.Error(err)
		}
	}
}

// TestHelperCellIsFound: the check finds a notebook that brings its own
// helper cell (testdata/helper-cell.ipynb: setup and helpers as notebooks
// carried them before nnq/nb), and each departure from the pattern made
// to a notebook that follows it.
func TestHelperCellIsFound(t *testing.T) {
	shared := nbFuncs(t)
	errs := checkHelpers("testdata/helper-cell.ipynb", shared)
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	got := strings.Join(all, "\n")
	for _, want := range []string{"first code cell is not the shared module cell", "second code cell is not the shared import",
		"imports GoNB's packages", "declares 5 functions (data, must, show, markdown, progress)", "declares must, a copy of nb.must"} {
		if !strings.Contains(got, want) {
			t.Errorf("the helper-cell notebook: no %q in\n%s", want, got)
		}
	}

	good, err := os.ReadFile("02-statistics.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if errs := checkHelpers("02-statistics.ipynb", shared); len(errs) != 0 {
		t.Fatalf("02-statistics: %v", errs)
	}
	var nb map[string]any
	if err := json.Unmarshal(good, &nb); err != nil {
		t.Fatal(err)
	}
	cells := nb["cells"].([]any)
	code := func(src string) map[string]any {
		return map[string]any{"cell_type": "code", "metadata": map[string]any{}, "outputs": []any{}, "source": src}
	}
	// The code cells of 02 are cells 2 (module), 3 (import), 4, ...
	cases := []struct {
		name, want string
		edit       func(cells []any) []any
	}{
		{"module cell without its note", "first code cell is not the shared module cell", func(c []any) []any {
			c[2] = code(strings.TrimSuffix(moduleCell, " # use this checkout as module github.com/nnq-toolkit/nnq (notebooks/README.md)"))
			return c
		}},
		{"an extra import in the setup cell", "second code cell is not the shared import", func(c []any) []any {
			c[3] = code(strings.Replace(importCell, "\n)", "\n\t\"github.com/nnq-toolkit/nnq/nnq/plots\"\n)", 1))
			return c
		}},
		{"five helpers in a cell", "declares 5 functions", func(c []any) []any {
			return append(c, code("func a() {}\nfunc b() {}\nfunc c() {}\n\n// d\nfunc d() {}\nfunc (x T) e() {}\n"))
		}},
		{"a copy of nb.Show", "declares show, a copy of nb.show", func(c []any) []any {
			return append(c, code("func show(p *plot.Plot) {}\n"))
		}},
		{"gonbui in a cell", "imports GoNB's packages", func(c []any) []any {
			return append(c, code("import \"github.com/janpfeifer/gonb/gonbui\"\n\n%%\ngonbui.DisplayHTML(\"x\")\n"))
		}},
		{"a second module cell", "sets up the module again", func(c []any) []any {
			return append(c, code(moduleCell))
		}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		edited := c.edit(append([]any(nil), cells...))
		nb["cells"] = edited
		b, _ := json.Marshal(nb)
		p := filepath.Join(dir, "edited.ipynb")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		errs := checkHelpers(p, shared)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s: %v, want one error with %q", c.name, errs, c.want)
		}
	}
}
