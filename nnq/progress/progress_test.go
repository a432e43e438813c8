package progress

import (
	"os"
	"strings"
	"sync"
	"testing"
)

func TestBarsRedrawOneLine(t *testing.T) {
	var sb strings.Builder
	r := NewBars(&sb)
	r.Step("search", 3, 12)
	r.Step("search", 3, 12) // unchanged: not redrawn
	r.Log("moved conv1")
	r.Step("search", 12, 12)
	want := "\rsearch     [#######.......................] 3/12" + "\r" + strings.Repeat(" ", 48) + "\r" + "moved conv1\n" +
		"\rsearch     [##############################] 12/12\n"
	if sb.String() != want {
		t.Errorf("got %q\nwant %q", sb.String(), want)
	}
}

func TestLinesWhenNotATerminal(t *testing.T) {
	var sb strings.Builder
	r := New(&sb) // a strings.Builder is no terminal
	bar := r.Bar("calibrate")
	for i := 0; i <= 500; i += 50 {
		bar(i, 500)
	}
	bar(500, 500) // reported once
	r.Step("evaluate", 1, 2)
	r.Log("a log line")
	r.Step("evaluate", 2, 2)
	r.Step("evaluate", 0, 2) // the step starts again: it gets its line again
	r.Step("evaluate", 2, 2)
	want := "calibrate: 500/500 done\na log line\nevaluate: 2/2 done\nevaluate: 2/2 done\n"
	if sb.String() != want {
		t.Errorf("got %q\nwant %q", sb.String(), want)
	}
	if strings.Contains(sb.String(), "\r") || strings.Contains(sb.String(), "[#") {
		t.Error("a bar was drawn on a non-terminal")
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&strings.Builder{}) || IsTerminal(nil) {
		t.Error("a file, a builder or nil taken for a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Error("/dev/tty is not taken for a terminal")
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		done, total int
		want        string
	}{
		{0, 10, "step       [..............................] 0/10"},
		{5, 10, "step       [###############...............] 5/10"},
		{11, 10, "step       [##############################] 11/10"},
		{7, 0, "step       7"},
	} {
		if got := Line("step", c.done, c.total); got != c.want {
			t.Errorf("Line(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}

func TestConcurrentSteps(t *testing.T) {
	var sb strings.Builder
	r := NewLines(&sb)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= 100; i++ {
				r.Step("evaluate", i, 100)
			}
		}()
	}
	wg.Wait()
	if got := strings.Count(sb.String(), "evaluate: 100/100 done\n"); got < 1 {
		t.Errorf("no end line: %q", sb.String())
	}
}
