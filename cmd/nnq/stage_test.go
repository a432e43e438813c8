package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// treeHash hashes every file name and content under dir ("" if dir is
// missing).
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// leftovers lists the staging directories convert left in dir.
func leftovers(dir string) []string {
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".nnq-tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// An interrupted convert leaves the output directory as it was: absent, or
// the earlier export, complete (verify accepts it); never half written.
func TestBinaryInterruptedConvertLeavesNoHalfProject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs convert many times and builds C")
	}
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	bin := nnqBinary(t)
	out := filepath.Join(dir, "out")
	convert := func(bits string) *exec.Cmd {
		return exec.Command(bin, "convert", "--model", model, "--patterns", patterns, "--bits", bits, "--out", out, "-q")
	}
	// interrupt starts convert and sends sig as soon as the staging
	// directory appears.
	interrupt := func(bits string, sig syscall.Signal) (code int, staged bool) {
		cmd := convert(bits)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-done:
				return cmd.ProcessState.ExitCode(), staged
			default:
			}
			if len(leftovers(dir)) > 0 {
				staged = true
				cmd.Process.Signal(sig)
				<-done
				return cmd.ProcessState.ExitCode(), staged
			}
			time.Sleep(50 * time.Microsecond)
		}
		cmd.Process.Kill()
		t.Fatal("convert did not finish")
		return
	}

	// No earlier export: the directory is absent afterwards.
	hits := 0
	for i := 0; i < 30 && hits < 3; i++ {
		os.RemoveAll(out)
		code, staged := interrupt("8", syscall.SIGINT)
		if l := leftovers(dir); len(l) > 0 {
			var files []string
			filepath.WalkDir(filepath.Join(dir, l[0]), func(p string, d fs.DirEntry, err error) error { files = append(files, p); return nil })
			t.Fatalf("run %d (exit %d) left %v: %v", i, code, l, files)
		}
		switch {
		case code == 130 && staged:
			hits++
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("run %d: interrupted while staging, but %s exists", i, out)
			}
		case code != 0:
			t.Fatalf("run %d: exit %d", i, code)
		}
	}
	if hits == 0 {
		t.Fatal("no SIGINT reached convert while it was writing")
	}
	if r := nnqRun(t, "verify", out); r.code == 0 {
		t.Errorf("verify accepted the directory of an interrupted convert: %s", r)
	}

	// An earlier export stays complete and unchanged.
	if r := runCmd(t, convert("16")); r.code != 0 {
		t.Fatal(r)
	}
	before := treeHash(t, out)
	hits = 0
	for i := 0; i < 30 && hits < 3; i++ {
		code, staged := interrupt("8", syscall.SIGINT)
		if l := leftovers(dir); len(l) > 0 {
			t.Fatalf("run %d left %v", i, l)
		}
		if code == 0 {
			// It finished first: the new export is there; put the old back.
			if r := runCmd(t, convert("16")); r.code != 0 {
				t.Fatal(r)
			}
			before = treeHash(t, out)
			continue
		}
		if code != 130 || !staged {
			t.Fatalf("run %d: exit %d", i, code)
		}
		hits++
		if after := treeHash(t, out); after != before {
			t.Fatalf("run %d: interrupted convert changed the earlier export", i)
		}
	}
	if hits == 0 {
		t.Fatal("no SIGINT reached convert while it was writing")
	}
	if r := nnqRun(t, "verify", out); r.code != 0 || !strings.Contains(r.stdout, "bit-exact") {
		t.Errorf("verify of the earlier export: %s", r)
	}

	// SIGKILL cannot be caught: the staging directory stays (hidden; the
	// export is untouched) until the next convert into the same place.
	for i := 0; i < 30; i++ {
		code, staged := interrupt("8", syscall.SIGKILL)
		if code == 0 {
			continue
		}
		if !staged || len(leftovers(dir)) == 0 {
			t.Fatalf("SIGKILL: exit %d, staged %v, left %v", code, staged, leftovers(dir))
		}
		if after := treeHash(t, out); after == "" {
			t.Fatal("SIGKILL removed the earlier export")
		}
		if r := runCmd(t, convert("16")); r.code != 0 || len(leftovers(dir)) > 0 {
			t.Fatalf("the next convert did not remove %v: %s", leftovers(dir), r)
		}
		return
	}
	t.Error("no SIGKILL reached convert while it was writing")
}

// A full disk (a file size limit, and a tiny tmpfs where mounting is
// allowed) makes convert fail with the reason and leave nothing behind.
func TestBinaryConvertOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	bin := nnqBinary(t)
	args := func(out string) string {
		return fmt.Sprintf("%s convert --model %s --patterns %s --out %s -q", bin, model, patterns, out)
	}
	// The largest exported file is tens of kB: 16 kB files fail.
	out := filepath.Join(dir, "out")
	r := runCmd(t, exec.Command("bash", "-c", "ulimit -f 16; exec "+args(out)))
	if r.code != 1 || !strings.Contains(r.stderr, "file too large") || !strings.Contains(r.stderr, out+" failed, so it was left as it was") {
		t.Errorf("file size limit: %s", r)
	}
	if _, err := os.Stat(out); err == nil || len(leftovers(dir)) > 0 {
		t.Errorf("file size limit: left %s or %v", out, leftovers(dir))
	}

	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o755)
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt).Run(); err != nil {
		t.Logf("no tmpfs (mounting needs root): %v; the file size limit stands in for it", err)
		return
	}
	defer exec.Command("umount", mnt).Run()
	out = filepath.Join(mnt, "out")
	r = runCmd(t, exec.Command("bash", "-c", args(out)))
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("full tmpfs: %s", r)
	}
	if entries, _ := os.ReadDir(mnt); len(entries) != 0 {
		t.Errorf("full tmpfs: left %v", entries)
	}
	if r := nnqRun(t, "verify", out); r.code == 0 {
		t.Errorf("verify accepted %s: %s", out, r)
	}
}
