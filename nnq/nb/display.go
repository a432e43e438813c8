package nb

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/nnq-toolkit/nnq/nnq/plots"
)

// display is where output goes: the notebook (GoNB) or, outside one, a
// writer (plots become PNG files).
type display interface {
	png(b []byte)
	markdown(s string)
	html(s string)
	update(id, html string) // a block replaced by every call with the same id
}

var (
	outMu sync.Mutex
	out   display = pick()
)

func pick() display {
	if gonbui.IsNotebook {
		return gonb{}
	}
	return &text{}
}

// gonb displays in the notebook; every call waits until GoNB has the
// output, so nothing is lost when the cell's program ends.
type gonb struct{}

func (gonb) png(b []byte)        { gonbui.DisplayPNG(b); gonbui.Sync() }
func (gonb) markdown(s string)   { gonbui.DisplayMarkdown(s); gonbui.Sync() }
func (gonb) html(s string)       { gonbui.DisplayHTML(s); gonbui.Sync() }
func (gonb) update(id, s string) { gonbui.UpdateHTML(id, s) }

// text writes to w (os.Stdout when nil); plots go to numbered PNG files
// in dir (WorkDir("plots") when empty).
type text struct {
	w   io.Writer
	dir string
	n   int
}

func (t *text) out() io.Writer {
	if t.w == nil {
		return os.Stdout
	}
	return t.w
}

func (t *text) png(b []byte) {
	if t.dir == "" {
		t.dir = WorkDir("plots")
	}
	t.n++
	p := filepath.Join(t.dir, fmt.Sprintf("plot-%d.png", t.n))
	Must(os.WriteFile(p, b, 0o644))
	fmt.Fprintf(t.out(), "[plot: %s]\n", p)
}
func (t *text) markdown(s string)   { fmt.Fprintln(t.out(), strings.TrimRight(s, "\n")) }
func (t *text) html(s string)       { fmt.Fprintln(t.out(), s) }
func (t *text) update(id, s string) {}

// Interactive reports whether a person may be at the notebook: false
// outside a notebook and in a headless run (notebooks/run.sh sets
// NNQ_HEADLESS=1), where widgets get no answer and their random element
// ids would make the stored outputs differ from run to run.
func Interactive() bool {
	return inNotebook() && os.Getenv("NNQ_HEADLESS") != "1"
}

// Show draws a plot of w x h into the notebook (as a PNG at plots.DPI; the
// legend, if any, stands to the right of the data, see plots.Draw).
func Show(p *plot.Plot, w, h vg.Length) {
	b := Must1(plots.PNG(p, w, h))
	outMu.Lock()
	defer outMu.Unlock()
	out.png(b)
}

// ShowRow draws plots side by side, each w x h, on the same vertical
// alignment.
func ShowRow(w, h vg.Length, ps ...*plot.Plot) {
	b := Must1(plots.RowPNG(w, h, ps...))
	outMu.Lock()
	defer outMu.Unlock()
	out.png(b)
}

// ShowPNG displays PNG bytes (a picture drawn elsewhere).
func ShowPNG(b []byte) {
	outMu.Lock()
	defer outMu.Unlock()
	out.png(b)
}

// Markdown displays Markdown text (outside a notebook: prints it).
func Markdown(s string) {
	outMu.Lock()
	defer outMu.Unlock()
	out.markdown(s)
}

// Markdownf is Markdown with fmt.Sprintf formatting.
func Markdownf(format string, a ...any) { Markdown(fmt.Sprintf(format, a...)) }

// HTML displays HTML (outside a notebook: prints it).
func HTML(s string) {
	outMu.Lock()
	defer outMu.Unlock()
	out.html(s)
}

// Table builds a Markdown table row by row:
//
//	t := nb.NewTable("layer", "format")
//	t.Row("conv1", "Q3.4")
//	nb.Markdown(t.String())  // or t.Show()
type Table struct {
	head []string
	rows [][]string
	// Caption, when set, is a line of Markdown shown above the table.
	Caption string
}

// NewTable starts a table with these column headers.
func NewTable(header ...string) *Table { return &Table{head: header} }

// Row appends a row; each cell is printed with %v (strings as they are),
// and cells beyond the header are an error.
func (t *Table) Row(cells ...any) {
	if len(cells) > len(t.head) {
		Must(fmt.Errorf("nb.Table: %d cells in a row of a %d-column table", len(cells), len(t.head)))
	}
	r := make([]string, len(t.head))
	for i, c := range cells {
		r[i] = cell(fmt.Sprint(c))
	}
	t.rows = append(t.rows, r)
}

// Rowf appends a row from a format whose cells are separated by " | ":
// t.Rowf("%s | %.2f %%", name, acc).
func (t *Table) Rowf(format string, a ...any) {
	parts := strings.Split(fmt.Sprintf(format, a...), " | ")
	cells := make([]any, len(parts))
	for i, p := range parts {
		cells[i] = p
	}
	t.Row(cells...)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// String is the Markdown of the table.
func (t *Table) String() string {
	var b strings.Builder
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n\n")
	}
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	head := make([]string, len(t.head))
	sep := make([]string, len(t.head))
	for i, h := range t.head {
		head[i], sep[i] = cell(h), "---"
	}
	line(head)
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

// Show displays the table.
func (t *Table) Show() { Markdown(t.String()) }

// cell escapes what would break a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
