// Package archtest holds nnq's import rules (ARCHITECTURE.md, "What each
// package may import") and checks a dependency listing against them. The
// test of this package runs `go list -deps` on the module and fails on any
// violation.
package archtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is the module path.
const Module = "github.com/nnq-toolkit/nnq"

// A Rule forbids the packages matched by Pkg from depending, directly or
// through other packages, on any package matched by one of Forbid.
// Patterns are import paths; a trailing "/..." also matches the path
// itself and everything below it. Why is the reason, printed with a
// violation.
type Rule struct {
	Pkg    string
	Forbid []string
	Why    string
	// Except lists packages matched by Pkg that the rule leaves alone.
	Except []string
}

// Rules are nnq's import rules.
var Rules = []Rule{
	{
		Pkg:    Module + "/kernels/...",
		Forbid: []string{Module + "/nnq/...", Module + "/codegen/...", Module + "/cmd/...", "github.com/apache/arrow-go/...", "gonum.org/v1/plot/...", "google.golang.org/protobuf/..."},
		Why:    "kernels are the fixed-point and float arithmetic alone: they know nothing of graphs, files, plots or C",
	},
	{
		Pkg:    Module + "/nnq",
		Forbid: []string{Module + "/nnq/onnx/...", Module + "/nnq/plots/...", "google.golang.org/protobuf/...", "gonum.org/v1/plot/..."},
		Why:    "the nnq core compiles no importer and no plotting library: ONNX registers itself (nnq/onnx), figures live in nnq/plots",
	},
	{
		Pkg:    Module + "/nnq/...",
		Forbid: []string{Module + "/codegen/...", Module + "/cmd/..."},
		Why:    "nnq knows nothing of C or the command line",
	},
	{
		Pkg:    Module + "/codegen/...",
		Forbid: []string{Module + "/cmd/...", Module + "/nnq/onnx/..."},
		Why:    "codegen exports a quantized model for any caller; it neither knows the CLI nor reads model files",
	},
	{
		Pkg:    Module + "/...",
		Forbid: []string{Module + "/cmd/..."},
		Why:    "commands are leaves: nothing imports them",
	},
	{
		Pkg:    Module + "/...",
		Forbid: []string{"github.com/janpfeifer/gonb/..."},
		Why:    "only the notebook helpers (nnq/nb) talk to GoNB; the toolkit runs without Jupyter",
		Except: []string{Module + "/nnq/nb"},
	},
	{
		Pkg:    Module + "/nnq/progress",
		Forbid: []string{Module + "/nnq", Module + "/kernels/...", Module + "/codegen/...", "gonum.org/v1/plot/...", "github.com/apache/arrow-go/..."},
		Why:    "progress reporting is plain text on a writer, for any caller",
	},
}

// match reports whether import path p matches pattern pat.
func match(pat, p string) bool {
	if base, ok := strings.CutSuffix(pat, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pat
}

// Check returns one message per package and broken rule, naming the
// first forbidden dependency (and how many more there are). deps maps each
// package to its dependencies (transitive, as `go list -deps` gives them).
// A forbidden pattern that matches the package itself does not apply to
// it (cmd/nnq may use other cmd packages; only the others may not).
func Check(rules []Rule, deps map[string][]string) []string {
	var out []string
	pkgs := make([]string, 0, len(deps))
	for p := range deps {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		for _, r := range rules {
			if !match(r.Pkg, p) || slices.ContainsFunc(r.Except, func(e string) bool { return match(e, p) }) {
				continue
			}
			var bad []string
			for _, d := range deps[p] {
				for _, f := range r.Forbid {
					if match(f, d) && !match(f, p) {
						bad = append(bad, d)
						break
					}
				}
			}
			switch len(bad) {
			case 0:
			case 1:
				out = append(out, fmt.Sprintf("%s depends on %s: %s", p, bad[0], r.Why))
			default:
				out = append(out, fmt.Sprintf("%s depends on %s (and %d more forbidden packages): %s", p, bad[0], len(bad)-1, r.Why))
			}
		}
	}
	return out
}
