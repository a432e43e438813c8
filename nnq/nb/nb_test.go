package nb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// recorder is a display that keeps what a notebook would show.
type recorder struct {
	mu      sync.Mutex
	pngs    [][]byte
	md      []string
	updates map[string][]string
}

func (r *recorder) png(b []byte)      { r.mu.Lock(); r.pngs = append(r.pngs, b); r.mu.Unlock() }
func (r *recorder) markdown(s string) { r.mu.Lock(); r.md = append(r.md, s); r.mu.Unlock() }
func (r *recorder) html(s string)     { r.markdown(s) }
func (r *recorder) update(id, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.updates == nil {
		r.updates = map[string][]string{}
	}
	r.updates[id] = append(r.updates[id], s)
}

// record sends the display to a recorder for the test.
func record(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	outMu.Lock()
	old := out
	out = r
	outMu.Unlock()
	t.Cleanup(func() { outMu.Lock(); out = old; outMu.Unlock() })
	return r
}

func TestFindRootAndData(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "notebooks", "sub")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// the checkout\nmodule "+Module+"\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notebooks", "go.mod"), []byte("module gonb_notebook\n"), 0o644) // another module: skipped
	got, err := findRoot(deep)
	if err != nil || got != dir {
		t.Fatalf("findRoot = %q, %v; want %q", got, err, dir)
	}
	if _, err := findRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no nnq checkout") {
		t.Fatalf("findRoot outside a checkout: %v", err)
	}
	// This package's tests run inside the real checkout.
	root := Root()
	if _, err := os.Stat(filepath.Join(root, "nnq", "nb", "nb.go")); err != nil {
		t.Fatalf("Root() = %q: %v", root, err)
	}
	t.Setenv("NNQ_DATA", "")
	if p := Data("kws", "patterns.arrow"); p != filepath.Join(root, "data", "kws", "patterns.arrow") {
		t.Errorf("Data = %q", p)
	}
	if r := Rel(Data("kws", "patterns.arrow")); r != "data/kws/patterns.arrow" {
		t.Errorf("Rel(Data) = %q", r)
	}
	if r := Rel(filepath.Join(root, "codegen", "x.go")); r != "codegen/x.go" {
		t.Errorf("Rel = %q", r)
	}
	if r := Rel("/elsewhere/file"); r != "/elsewhere/file" {
		t.Errorf("Rel outside = %q", r)
	}
	t.Setenv("GONB_TMP_DIR", "/tmp/gonb_1234")
	if got := Scrub("export -> /tmp/gonb_1234/kws-q7; data " + root + "/data/kws and " + root); got != "export -> kws-q7; data data/kws and ." {
		t.Errorf("Scrub gave %q", got)
	}
	t.Setenv("NNQ_DATA", dir)
	if p := Data("x.arrow"); p != filepath.Join(dir, "x.arrow") || Rel(p) != "$NNQ_DATA/x.arrow" {
		t.Errorf("with NNQ_DATA: Data = %q, Rel = %q", p, Rel(p))
	}
}

func TestCacheComputesOncePerKey(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", t.TempDir())
	f := filepath.Join(t.TempDir(), "input.bin")
	os.WriteFile(f, []byte("one"), 0o644)
	type result struct {
		N    int
		Name string
	}
	calls := 0
	compute := func() result { calls++; return result{N: calls, Name: "r"} }
	a := Cache("thing", []any{File(f), 500}, compute)
	b := Cache("thing", []any{File(f), 500}, compute)
	if calls != 1 || a != b || a.N != 1 {
		t.Fatalf("second call recomputed: calls %d, %v %v", calls, a, b)
	}
	Cache("thing", []any{File(f), 501}, compute) // another value
	os.WriteFile(f, []byte("two"), 0o644)
	Cache("thing", []any{File(f), 500}, compute)
	if calls != 3 {
		t.Fatalf("calls %d, want 3 (a new key value and a changed file recompute)", calls)
	}
	// Types, pointers and interfaces take part in the key; functions do not.
	type opts struct {
		P   *int
		S   any
		Log func(string)
	}
	one, two := 1, 2
	k := func(v any) string { return CacheKey("k", v) }
	if k(opts{P: &one}) == k(opts{P: &two}) || k(opts{S: struct{}{}}) == k(opts{S: struct{ A int }{}}) ||
		k(opts{P: &one}) != k(opts{P: &one, Log: func(string) {}}) || k(int32(1)) == k(int64(1)) {
		t.Error("CacheKey does not follow the key's values and types")
	}
	if SourceHash() == "" || SourceHash() == "no-checkout" {
		t.Errorf("SourceHash = %q inside the checkout", SourceHash())
	}
}

func TestShowAndTables(t *testing.T) {
	r := record(t)
	p := plot.New()
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 2}})
	Must(err)
	p.Add(l)
	p.Legend.Add("line", l)
	Show(p, 4*vg.Inch, 2*vg.Inch)
	ShowRow(3*vg.Inch, 2*vg.Inch, p, p)
	tb := NewTable("layer", "format")
	tb.Row("conv1", "Q3.4")
	tb.Rowf("%s | %s", "fc|x", "Q6.1")
	tb.Show()
	if len(r.pngs) != 2 || len(r.md) != 1 {
		t.Fatalf("%d PNGs and %d Markdown outputs", len(r.pngs), len(r.md))
	}
	if want := "| layer | format |\n| --- | --- |\n| conv1 | Q3.4 |\n| fc\\|x | Q6.1 |\n"; r.md[0] != want {
		t.Errorf("table %q, want %q", r.md[0], want)
	}
	defer func() {
		if recover() == nil {
			t.Error("a row wider than the table was accepted")
		}
	}()
	tb.Row(1, 2, 3)
}

func TestProgressBarsInANotebook(t *testing.T) {
	r := record(t)
	t.Setenv("NNQ_HEADLESS", "")
	if !Interactive() {
		t.Error("a notebook is not interactive")
	}
	t.Setenv("NNQ_HEADLESS", "1")
	if Interactive() {
		t.Error("a headless run is interactive")
	}
	bar := Progress("calibrate")
	for i := 0; i <= 1000; i++ {
		bar(i, 1000)
	}
	steps := Steps()
	steps("evaluate", 0, 4)
	steps("search", 1, 2)
	steps("evaluate", 4, 4)
	if len(r.updates) != 3 {
		t.Fatalf("%d bars, want one per step (3)", len(r.updates))
	}
	for id, u := range r.updates {
		if !strings.HasPrefix(id, "nnq-progress-") {
			t.Errorf("bar id %q", id)
		}
		last := u[len(u)-1]
		switch {
		case strings.Contains(last, "calibrate"):
			if len(u) != 101 || last != BarHTML("calibrate", 1000, 1000) {
				t.Errorf("calibrate bar drawn %d times (want once per percent: 101), last %q", len(u), last)
			}
		case strings.Contains(last, "evaluate"):
			if last != `<progress value="4" max="4"></progress> <code>evaluate: 4 / 4</code>` {
				t.Errorf("evaluate bar ends %q", last)
			}
		}
	}
	if BarHTML("a<b", 3, 0) != "<code>a&lt;b: 3</code>" {
		t.Errorf("BarHTML without total: %q", BarHTML("a<b", 3, 0))
	}
}

func TestTextOutputOutsideANotebook(t *testing.T) {
	var sb strings.Builder
	outMu.Lock()
	old := out
	out = &text{w: &sb, dir: t.TempDir()}
	outMu.Unlock()
	defer func() { outMu.Lock(); out = old; outMu.Unlock() }()
	Markdownf("**%d** patterns", 3)
	p := plot.New()
	Show(p, 2*vg.Inch, 2*vg.Inch)
	if !strings.HasPrefix(sb.String(), "**3** patterns\n[plot: ") || !strings.HasSuffix(sb.String(), "plot-1.png]\n") {
		t.Errorf("text output %q", sb.String())
	}
	if inNotebook() || Interactive() {
		t.Error("text output taken for a notebook")
	}
}

func ExampleTable() {
	t := NewTable("scheme", "q7", "q15")
	t.Rowf("%s | %.2f %% | %.2f %%", "mse", 97.29, 97.6)
	t.Row("minmax", "97.3 %", "97.6 %")
	fmt.Print(t)
	// Output:
	// | scheme | q7 | q15 |
	// | --- | --- | --- |
	// | mse | 97.29 % | 97.60 % |
	// | minmax | 97.3 % | 97.6 % |
}

func ExampleMarkdown() {
	// Outside a notebook Markdown prints the text.
	Markdown("**q7**: 97.29 %")
	// Output: **q7**: 97.29 %
}
