// Package scripts holds the tests of the shell scripts beside it.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBin writes executable shell scripts into a new directory.
func fakeBin(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// install-deps.sh on a machine without the packages: it installs all of
// them (cmake too, which the CMake test needs; with NNQ_WITH_IMAGE=1 the
// image test's podman, buildah and debootstrap), and when GoNB's install
// fails it shows why instead of hiding the output.
func TestInstallDepsShowsFailuresAndInstallsCMake(t *testing.T) {
	log := filepath.Join(t.TempDir(), "apt.log")
	gopath := t.TempDir()
	bin := fakeBin(t, map[string]string{
		"dpkg-query": "exit 1", // nothing installed
		"id":         "echo 0",
		"apt-get":    `echo "$@" >> ` + log,
		"go": `case "$1 $2" in
"env GOPATH") echo ` + gopath + ` ;;
"mod init") ;;
"get -tool") echo "go: github.com/janpfeifer/gonb: simulated proxy failure: 403 Forbidden" >&2; exit 1 ;;
*) exit 0 ;;
esac`,
	})
	cmd := exec.Command("bash", "install-deps.sh")
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin", "NNQ_WITH_TRAINING=0", "NNQ_WITH_IMAGE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a failed GoNB install exited 0:\n%s", out)
	}
	if !strings.Contains(string(out), "simulated proxy failure: 403 Forbidden") || !strings.Contains(string(out), "install-deps: failed") {
		t.Errorf("the GoNB install's output is not shown:\n%s", out)
	}
	apt, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"cmake", "make", "gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm", "libonnx-testdata", "jupyter-nbconvert", "podman", "buildah", "debootstrap"} {
		if !strings.Contains(" "+string(apt)+" ", " "+pkg+" ") && !strings.Contains(string(apt), " "+pkg+"\n") {
			t.Errorf("apt-get was not asked to install %s:\n%s", pkg, apt)
		}
	}
}

// .ci/run makes skips on missing tools failures (CI=true) and runs exactly
// the README's test command.
func TestCIRunIsStrict(t *testing.T) {
	b, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "export CI=true") || !strings.Contains(s, "make test") {
		t.Errorf(".ci/run must export CI=true and run make test:\n%s", s)
	}
}

// make test (scripts/test.sh) leaves the image test out of its run of every
// package (it takes an hour or more; make test must stay within its time
// budget), and make image-test installs the builders and runs it alone with
// the time it needs.
func TestImageTestIsItsOwnTarget(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sh, mk := read("test.sh"), read("../Makefile")
	for _, want := range []string{
		"image_test=TestImageBuildsAndRunsTheNotebooks\n",
		`go test -count=1 -timeout 20m -skip "^$image_test\$" ./...`,
	} {
		if !strings.Contains(sh, want) {
			t.Errorf("scripts/test.sh lacks %q", want)
		}
	}
	if strings.Contains(sh, "NNQ_WITH_IMAGE=1") || strings.Contains(sh, "./docker") {
		t.Errorf("scripts/test.sh must not build the image:\n%s", sh)
	}
	for _, want := range []string{
		"image-test:\n\tNNQ_WITH_IMAGE=1 scripts/install-deps.sh\n",
		"go test -count=1 -timeout 90m -run '^TestImageBuildsAndRunsTheNotebooks$$' -v ./docker",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("Makefile lacks %q", want)
		}
	}
}
