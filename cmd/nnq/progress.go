package main

import (
	"fmt"
	"io"
	"strings"
)

// progressBar draws "step [#####.....] done/total" on one terminal line
// (carriage return, no newline) for the long steps of a conversion; clear
// erases it before a log line.
type progressBar struct {
	w     io.Writer
	shown bool
	last  string
}

func (b *progressBar) draw(step string, done, total int) {
	var line string
	if total > 0 {
		const width = 30
		n := min(width, done*width/total)
		line = fmt.Sprintf("%-10s [%s%s] %d/%d", step, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
	} else {
		line = fmt.Sprintf("%-10s %d", step, done)
	}
	if line == b.last {
		return
	}
	fmt.Fprintf(b.w, "\r%s", line)
	b.shown, b.last = true, line
	if total > 0 && done >= total {
		fmt.Fprintln(b.w)
		b.shown, b.last = false, ""
	}
}

func (b *progressBar) clear() {
	if b.shown {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", len(b.last)))
		b.shown, b.last = false, ""
	}
}
