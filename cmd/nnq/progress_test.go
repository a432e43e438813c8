package main

import (
	"strings"
	"testing"
)

func TestProgressBar(t *testing.T) {
	var sb strings.Builder
	b := &progressBar{w: &sb}
	b.draw("search", 3, 12)
	b.draw("search", 3, 12) // unchanged: not redrawn
	b.clear()
	b.draw("search", 12, 12)
	want := "\rsearch     [#######.......................] 3/12" + "\r" + strings.Repeat(" ", 48) + "\r" +
		"\rsearch     [##############################] 12/12\n"
	if sb.String() != want {
		t.Errorf("got %q\nwant %q", sb.String(), want)
	}
}
