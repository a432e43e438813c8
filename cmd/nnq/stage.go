package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// stagedDir is an output directory written under a temporary name beside
// its final path and renamed into place at the end, so a run that fails,
// fills the disk or is interrupted never leaves a half-written directory:
// the final path holds the complete new output or what it held before.
type stagedDir struct {
	final, tmp string
	mu         sync.Mutex
	done       bool // committed
	stopped    bool // a signal came before commit
	sig        chan os.Signal
}

// errInterrupted is returned when SIGINT or SIGTERM stopped a command; main
// exits with 130.
var errInterrupted = errors.New("interrupted")

// stagePrefix starts the name of the temporary directories of final; the
// process id follows, so a later run can remove those of a killed one.
func stagePrefix(final string) string { return "." + filepath.Base(final) + ".nnq-tmp-" }

// stageDir creates the temporary directory beside final, after removing
// those that runs killed before they could clean up left there. A SIGINT or
// SIGTERM before commit makes commit fail with errInterrupted (the export
// finishes its writing first; close then removes it all); a second one
// exits at once.
func stageDir(final string) (*stagedDir, error) {
	final = filepath.Clean(final)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	removeStale(parent, stagePrefix(final))
	s := &stagedDir{final: final, sig: make(chan os.Signal, 1)}
	// Catch signals before the directory exists, so none can leave it.
	signal.Notify(s.sig, os.Interrupt, syscall.SIGTERM)
	tmp, err := os.MkdirTemp(parent, stagePrefix(final)+strconv.Itoa(os.Getpid())+"-")
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err != nil {
		signal.Stop(s.sig)
		os.RemoveAll(tmp)
		return nil, err
	}
	s.tmp = tmp
	go s.onSignal()
	return s, nil
}

// onSignal handles SIGINT and SIGTERM while the directory is written.
// The export cannot be stopped midway, and removing the directory under it
// would let it create parts of it again, so the first signal only makes
// commit refuse; a second one removes what it can and exits.
func (s *stagedDir) onSignal() {
	if _, ok := <-s.sig; !ok {
		return
	}
	s.mu.Lock()
	s.stopped = true
	done := s.done
	s.mu.Unlock()
	if done {
		return
	}
	fmt.Fprintf(os.Stderr, "nnq: interrupted; removing the partial output (again to quit at once)\n")
	if _, ok := <-s.sig; !ok {
		return
	}
	os.RemoveAll(s.tmp)
	os.Exit(130)
}

// removeStale removes the directories named prefix+PID-* in dir whose
// process no longer runs.
func removeStale(dir, prefix string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// commit replaces the final directory with the temporary one.
func (s *stagedDir) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errInterrupted
	}
	old := ""
	if _, err := os.Lstat(s.final); err == nil {
		old = s.tmp + "-old"
		if err := os.Rename(s.final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(s.tmp, s.final); err != nil {
		if old != "" {
			os.Rename(old, s.final)
		}
		return err
	}
	s.done = true
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// close removes the temporary directory unless it was committed.
func (s *stagedDir) close() {
	signal.Stop(s.sig)
	close(s.sig)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		os.RemoveAll(s.tmp)
	}
}
