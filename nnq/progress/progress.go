// Package progress shows the progress of nnq's long steps (calibration,
// the accuracy search, evaluation, C verification) on a terminal: a bar
// redrawn on one line when the writer is a terminal, and one plain line
// per finished step when it is not (a log file, a pipe, CI), so logs stay
// readable.
//
// It is what the nnq command uses on stderr and what package nnq/nb uses
// outside a notebook. A Reporter's Step method has the signature of
// nnq.ConvertOptions.Progress; Bar gives an nnq.Progress for one step.
//
//	r := progress.New(os.Stderr)
//	c, err := nnq.Convert(nnq.ConvertOptions{..., Progress: r.Step, Log: r.Log})
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Width is the number of cells of a bar.
const Width = 30

// Reporter draws the progress of named steps on one writer. Its methods
// are safe for concurrent use.
type Reporter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown bool   // a bar is on the current terminal line
	last  string // the bar line last drawn
	ended map[string]bool
}

// New returns a Reporter on w: bars when w is a terminal (see
// IsTerminal), one line per finished step otherwise.
func New(w io.Writer) *Reporter {
	return &Reporter{w: w, tty: IsTerminal(w), ended: map[string]bool{}}
}

// NewLines returns a Reporter on w that never draws bars: one line per
// finished step.
func NewLines(w io.Writer) *Reporter { return &Reporter{w: w, ended: map[string]bool{}} }

// NewBars returns a Reporter on w that draws bars whatever w is.
func NewBars(w io.Writer) *Reporter { return &Reporter{w: w, tty: true, ended: map[string]bool{}} }

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Line is the text of a step's progress: "step [####....] done/total", or
// "step done" when the total is unknown (total <= 0).
func Line(step string, done, total int) string {
	if total <= 0 {
		return fmt.Sprintf("%-10s %d", step, done)
	}
	n := min(Width, max(0, done)*Width/total)
	return fmt.Sprintf("%-10s [%s%s] %d/%d", step, strings.Repeat("#", n), strings.Repeat(".", Width-n), done, total)
}

// Step reports that step has done of total units of work. On a terminal
// the bar is redrawn in place (only when it changes) and ends with a
// newline when done reaches total; otherwise a line is written when a
// step finishes ("calibrate: 500/500 done").
func (r *Reporter) Step(step string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	finished := total > 0 && done >= total
	if !r.tty {
		if finished && !r.ended[step] {
			r.ended[step] = true
			fmt.Fprintf(r.w, "%s: %d/%d done\n", step, done, total)
		} else if !finished {
			delete(r.ended, step) // the step runs again (another word size, another network)
		}
		return
	}
	line := Line(step, done, total)
	if line == r.last {
		return
	}
	fmt.Fprintf(r.w, "\r%s", line)
	r.shown, r.last = true, line
	if finished {
		fmt.Fprintln(r.w)
		r.shown, r.last = false, ""
	}
}

// Bar returns the progress callback of one step, for the functions that
// take an nnq.Progress (nnq.Calibrate, QModel.Evaluate).
func (r *Reporter) Bar(step string) func(done, total int) {
	return func(done, total int) { r.Step(step, done, total) }
}

// Log writes a line of text, first erasing a bar drawn on the current
// line; it fits nnq.ConvertOptions.Log.
func (r *Reporter) Log(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	fmt.Fprintln(r.w, line)
}

// Clear erases a bar left unfinished on the current line.
func (r *Reporter) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
}

func (r *Reporter) clearLocked() {
	if r.shown {
		fmt.Fprintf(r.w, "\r%s\r", strings.Repeat(" ", len(r.last)))
		r.shown, r.last = false, ""
	}
}
