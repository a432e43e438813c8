package nb

import (
	"fmt"
	"html"
	"os"
	"sync"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/progress"
)

var (
	termOnce sync.Once
	term     *progress.Reporter
)

// terminal is the Reporter outside a notebook: on stderr, a bar on a
// terminal, a line per finished step otherwise.
func terminal() *progress.Reporter {
	termOnce.Do(func() { term = progress.New(os.Stderr) })
	return term
}

// inNotebook reports whether output goes to a notebook (not text).
func inNotebook() bool {
	outMu.Lock()
	defer outMu.Unlock()
	_, isText := out.(*text)
	return !isText
}

// Progress returns an nnq.Progress for one long step (nnq.Calibrate,
// QModel.Evaluate, QConfig.Progress): in a notebook an HTML progress bar
// labelled label, updated in place and left showing its final count;
// outside one the bar or line of package nnq/progress on stderr.
func Progress(label string) nnq.Progress {
	if !inNotebook() {
		return terminal().Bar(label)
	}
	id := "nnq-progress-" + gonbui.UniqueId()
	var mu sync.Mutex
	last := -1
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		// Redraw when the bar moves by a percent, and at the end.
		pct := 0
		if total > 0 {
			pct = 100 * done / total
		}
		if pct == last && done != total {
			return
		}
		last = pct
		outMu.Lock()
		out.update(id, BarHTML(label, done, total))
		outMu.Unlock()
		if _, ok := out.(gonb); ok && done == total {
			gonbui.Sync()
		}
	}
}

// BarHTML is the HTML of a progress bar: "<progress> label: done / total".
func BarHTML(label string, done, total int) string {
	if total <= 0 {
		return fmt.Sprintf(`<code>%s: %d</code>`, html.EscapeString(label), done)
	}
	return fmt.Sprintf(`<progress value="%d" max="%d"></progress> <code>%s: %d / %d</code>`, done, total, html.EscapeString(label), done, total)
}

// Steps returns a progress callback for functions that report several
// named steps (nnq.ConvertOptions.Progress, codegen.VerifyOptions.Progress):
// one bar per step, as Progress draws it.
func Steps() func(step string, done, total int) {
	if !inNotebook() {
		return terminal().Step
	}
	var mu sync.Mutex
	bars := map[string]nnq.Progress{}
	return func(step string, done, total int) {
		mu.Lock()
		bar, ok := bars[step]
		if !ok {
			bar = Progress(step)
			bars[step] = bar
		}
		mu.Unlock()
		bar(done, total)
	}
}
