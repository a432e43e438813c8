package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goListDeps runs `go list -deps` for every package of the module and
// returns each package's dependencies (standard library included; test
// files excluded: tests may import what they like).
func goListDeps(t *testing.T) map[string][]string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the imports: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", Module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return deps
}

func TestImportRules(t *testing.T) {
	deps := goListDeps(t)
	// Every rule must still name packages that exist, or it checks nothing.
	for _, r := range Rules {
		found := false
		for p := range deps {
			found = found || match(r.Pkg, p)
		}
		if !found {
			t.Errorf("rule for %s matches no package of the module", r.Pkg)
		}
	}
	for _, p := range []string{Module + "/kernels", Module + "/nnq", Module + "/nnq/onnx", Module + "/nnq/plots", Module + "/nnq/nb", Module + "/nnq/progress", Module + "/codegen", Module + "/cmd/nnq"} {
		if _, ok := deps[p]; !ok {
			t.Errorf("go list did not list %s", p)
		}
	}
	for _, v := range Check(Rules, deps) {
		t.Error(v)
	}
	// The listing is real: the CLI reaches every layer.
	for _, d := range []string{Module + "/codegen", Module + "/nnq/onnx", Module + "/nnq/plots", Module + "/nnq", Module + "/kernels"} {
		if !slices.Contains(deps[Module+"/cmd/nnq"], d) {
			t.Errorf("cmd/nnq does not depend on %s", d)
		}
	}
}

func TestCheckFindsForbiddenDependencies(t *testing.T) {
	m := Module
	clean := map[string][]string{
		m + "/kernels":      {"math", "fmt"},
		m + "/nnq":          {m + "/kernels", "github.com/apache/arrow-go/v18/arrow"},
		m + "/nnq/onnx":     {m + "/nnq", m + "/nnq/onnx/internal/onnxpb", "google.golang.org/protobuf/proto"},
		m + "/nnq/plots":    {m + "/nnq", "gonum.org/v1/plot"},
		m + "/codegen":      {m + "/nnq", m + "/nnq/plots", m + "/kernels"},
		m + "/cmd/nnq":      {m + "/codegen", m + "/nnq/onnx", m + "/cmd/nnq/internal", m + "/nnq/progress"},
		m + "/nnq/nb":       {m + "/nnq", m + "/nnq/plots", m + "/nnq/progress", "github.com/janpfeifer/gonb/gonbui"},
		m + "/nnq/progress": {"fmt", "io"},
	}
	if v := Check(Rules, clean); len(v) != 0 {
		t.Fatalf("a clean graph breaks rules: %q", v)
	}
	cases := []struct {
		pkg, dep, want string
	}{
		{m + "/kernels", m + "/nnq", "kernels are the fixed-point"},
		{m + "/kernels", "github.com/apache/arrow-go/v18/arrow/ipc", "kernels are the fixed-point"},
		{m + "/kernels", "google.golang.org/protobuf/proto", "kernels are the fixed-point"},
		{m + "/kernels", m + "/codegen/crt", "kernels are the fixed-point"},
		{m + "/nnq", "google.golang.org/protobuf/proto", "compiles no importer"},
		{m + "/nnq", "gonum.org/v1/plot/vg", "compiles no importer"},
		{m + "/nnq", m + "/nnq/onnx", "compiles no importer"},
		{m + "/nnq", m + "/codegen", "knows nothing of C"},
		{m + "/nnq/playground", m + "/codegen/harness", "knows nothing of C"},
		{m + "/codegen", m + "/cmd/nnq", "neither knows the CLI"},
		{m + "/codegen", m + "/nnq/onnx", "neither knows the CLI"},
		{m + "/data/tools/export", m + "/cmd/nnq", "nothing imports them"},
		{m + "/nnq/plots", "github.com/janpfeifer/gonb/gonbui", "only the notebook helpers"},
		{m + "/codegen", "github.com/janpfeifer/gonb/gonbui", "only the notebook helpers"},
		{m + "/nnq/progress", m + "/nnq", "plain text on a writer"},
	}
	for _, c := range cases {
		bad := map[string][]string{}
		for k, v := range clean {
			bad[k] = v
		}
		bad[c.pkg] = append(append([]string(nil), bad[c.pkg]...), c.dep)
		v := Check(Rules, bad)
		if len(v) == 0 {
			t.Errorf("%s -> %s passes", c.pkg, c.dep)
			continue
		}
		if !strings.Contains(strings.Join(v, "\n"), c.pkg+" depends on "+c.dep+": ") || !strings.Contains(strings.Join(v, "\n"), c.want) {
			t.Errorf("%s -> %s: %q, want the pair and %q", c.pkg, c.dep, v, c.want)
		}
	}
	if !match(m+"/nnq/...", m+"/nnq") || match(m+"/nnq", m+"/nnq/onnx") || match(m+"/cmd/...", m+"/cmdx") {
		t.Error("match is wrong")
	}
}
