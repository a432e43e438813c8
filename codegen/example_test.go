package codegen

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

func TestExamplePatternsOnePerClass(t *testing.T) {
	p := &nnq.Patterns{Shape: []int{1}}
	for i, l := range []int{3, 3, 1, -1, 2, 1, 0} {
		p.Append([]float32{float32(i)}, l, "")
	}
	if got := fmt.Sprint(ExamplePatterns(p)); got != "[6 2 4 0]" {
		t.Errorf("ExamplePatterns = %s, want the first of classes 0, 1, 2, 3: [6 2 4 0]", got)
	}
	many := &nnq.Patterns{Shape: []int{1}}
	for i := 0; i < 40; i++ {
		many.Append([]float32{0}, 39-i, "")
	}
	if got := ExamplePatterns(many); len(got) != MaxExamples || got[0] != 39 {
		t.Errorf("40 classes: %v, want the first %d classes", got, MaxExamples)
	}
	unlabelled := &nnq.Patterns{Shape: []int{1}}
	for i := 0; i < 30; i++ {
		unlabelled.Append([]float32{0}, -1, "")
	}
	if got := ExamplePatterns(unlabelled); len(got) != MaxExamples || got[MaxExamples-1] != MaxExamples-1 {
		t.Errorf("unlabelled: %v", got)
	}
}

// TestMakeRunPrintsOneLinePerClass exports the bundled MNIST CNN and runs
// `make run`: one line per stored example, one example per digit, each
// with its expected class.
func TestMakeRunPrintsOneLinePerClass(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "make", "make")
	c, err := nnq.Convert(nnq.ConvertOptions{Model: "../data/mnist-cnn/model.arrow", Patterns: "../data/mnist/patterns.arrow",
		MaxCalib: 200, MaxTest: 300, Scheme: nnq.MSE{}, Target: "cortex-m3"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mnist")
	if _, err := Export(c.Q, dir, Options{Patterns: c.Test}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), "make", "-s", "run", "CFLAGS=-O1 -Werror")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make run: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^example (\d+): expected (\d+) \((\w+)\), network says (\d+) \((\w+)\), score [0-9.e+-]+$`)
	lines := line.FindAllStringSubmatch(string(out), -1)
	if len(lines) != 10 {
		t.Fatalf("%d example lines, want one per digit (10):\n%s", len(lines), out)
	}
	right := 0
	for i, m := range lines {
		if m[1] != fmt.Sprint(i) || m[2] != fmt.Sprint(i) || m[3] != c.Q.Float.Classes[i] {
			t.Errorf("line %d: %q, want example %d expecting class %d (%s)", i, m[0], i, i, c.Q.Float.Classes[i])
		}
		if m[2] == m[4] {
			right++
		}
	}
	if want := fmt.Sprintf("10 example(s), %d of 10 labelled ones right, 0 mismatch(es) with nnq's simulation", right); !strings.Contains(string(out), want) {
		t.Errorf("summary: want %q in\n%s", want, out)
	}
	t.Logf("make run:\n%s", out)
	if right < 8 {
		t.Errorf("only %d of 10 digits right", right)
	}
}
