// Package docker holds the notebook image (Dockerfile, compose.yaml) and
// its tests: a static one that the Dockerfile, its ignore file, the
// installer and the pins agree (always), and a build of the image with
// podman followed by notebooks/run.sh inside it (NNQ_DOCKER_TEST=1; slow,
// needs Debian's mirror and the Go module proxy).
package docker

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDockerfileAgreesWithTheRepository checks without building: the base
// is pinned by digest to the Go of go.mod, the image installs with
// scripts/install-deps.sh and pins every Python package, the ignore file
// lets in what the Dockerfile copies, and the GoNB version of the installer
// is the one the notebooks ask for.
func TestDockerfileAgreesWithTheRepository(t *testing.T) {
	df := read(t, "Dockerfile")
	gomod := read(t, "../go.mod")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if goVer == nil {
		t.Fatal("go.mod has no go directive")
	}
	base := regexp.MustCompile(`(?m)^ARG BASE=golang:(\d+\.\d+)-bookworm@sha256:[0-9a-f]{64}$`).FindStringSubmatch(df)
	if base == nil {
		t.Fatal("the Dockerfile does not pin its base by digest (ARG BASE=golang:X.Y-bookworm@sha256:...)")
	}
	if base[1] != goVer[1] {
		t.Errorf("base image has Go %s, go.mod wants %s", base[1], goVer[1])
	}
	if !strings.Contains(df, "FROM ${BASE}") {
		t.Error("the Dockerfile does not build FROM ${BASE}")
	}
	// Everything COPY takes from the context must pass the ignore file.
	ignore := read(t, "Dockerfile.dockerignore")
	for _, m := range regexp.MustCompile(`(?m)^COPY (\S+) `).FindAllStringSubmatch(df, -1) {
		if !strings.Contains(ignore, "!"+m[1]+"\n") {
			t.Errorf("Dockerfile.dockerignore keeps %s out of the build context", m[1])
		}
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("the Dockerfile copies %s: %v", m[1], err)
		}
	}
	if !strings.Contains(df, "COPY scripts/install-deps.sh /usr/local/bin/nnq-install-deps.sh\nRUN nnq-install-deps.sh") {
		t.Error("the image does not install with scripts/install-deps.sh")
	}
	// JupyterLab and its requirements: all pinned, installed from the file.
	if !strings.Contains(df, "pip install --no-cache-dir -r /opt/jupyterlab-requirements.txt") || !strings.Contains(df, "pip check") {
		t.Error("the Dockerfile does not install (and check) docker/jupyterlab-requirements.txt")
	}
	f, err := os.Open("jupyterlab-requirements.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pin := regexp.MustCompile(`^[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.+-]*$`)
	n, lab := 0, false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if !pin.MatchString(line) {
			t.Errorf("jupyterlab-requirements.txt: %q is not pinned (name==version)", line)
		}
		lab = lab || strings.HasPrefix(line, "jupyterlab==")
	}
	if !lab || n < 20 {
		t.Errorf("jupyterlab-requirements.txt pins %d packages, JupyterLab among them: %v", n, lab)
	}
	// GoNB: the installer's version is the one the notebooks pin.
	deps := read(t, "../scripts/install-deps.sh")
	gonb := regexp.MustCompile(`(?m)^GONB_VERSION=(v[0-9.]+)$`).FindStringSubmatch(deps)
	if gonb == nil {
		t.Fatal("scripts/install-deps.sh sets no GONB_VERSION")
	}
	nbs, _ := filepath.Glob("../notebooks/*.ipynb")
	for _, nb := range nbs {
		if s := read(t, nb); !strings.Contains(s, "github.com/janpfeifer/gonb@"+gonb[1]) {
			t.Errorf("%s does not pin GoNB %s like scripts/install-deps.sh", nb, gonb[1])
		}
	}
	for _, p := range []string{"python3-ipykernel", "jupyter-nbconvert", "gcc-arm-none-eabi", "qemu-system-arm"} {
		if !strings.Contains(deps, p) {
			t.Errorf("scripts/install-deps.sh does not install %s, which the image's runner needs", p)
		}
	}
}

// TestImageBuildsAndRunsTheNotebooks builds the image with podman and runs
// notebooks/run.sh in it on the mounted checkout: every notebook executes
// clean and its outputs match the committed ones. Opt-in, it takes long:
//
//	NNQ_DOCKER_TEST=1 go test ./docker -run TestImage -timeout 90m -v
//
// NNQ_DOCKER_BASE=local builds FROM a stand-in base made by
// docker/local-base.sh (Debian from its mirror plus the host's Go), for
// machines that reach no container registry; NNQ_DOCKER_JUPYTERLAB=0 leaves
// out JupyterLab (from PyPI), which the runner does not need.
// NNQ_DOCKER_CA names a CA bundle for Go's downloads behind a TLS-inspecting
// proxy. NNQ_PODMAN overrides the podman command (default "podman
// --storage-driver vfs"; builds use --isolation chroot, and the notebooks
// run in a buildah container with chroot isolation, which needs no
// resource-limit rights).
func TestImageBuildsAndRunsTheNotebooks(t *testing.T) {
	if os.Getenv("NNQ_DOCKER_TEST") != "1" {
		t.Skip("set NNQ_DOCKER_TEST=1 to build the image and run the notebooks in it (slow)")
	}
	podman := strings.Fields(os.Getenv("NNQ_PODMAN"))
	if len(podman) == 0 {
		podman = []string{"podman", "--storage-driver", "vfs"}
	}
	if _, err := exec.LookPath(podman[0]); err != nil {
		t.Fatalf("%s is not installed: %v", podman[0], err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 85*time.Minute)
	defer cancel()
	run := func(name string, args ...string) {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PODMAN="+strings.Join(podman, " "))
		out, err := cmd.CombinedOutput()
		t.Logf("%s: %s", name, time.Since(start).Round(time.Second))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, tail(string(out), 60))
		}
		t.Logf("%s:\n%s", name, tail(string(out), 15))
	}
	buildArgs := []string{}
	if os.Getenv("NNQ_DOCKER_BASE") == "local" {
		exists := exec.CommandContext(ctx, podman[0], append(podman[1:], "image", "exists", "localhost/nnq-go-base:bookworm")...).Run() == nil
		if !exists {
			run("local base", "docker/local-base.sh", "localhost/nnq-go-base:bookworm")
		}
		buildArgs = append(buildArgs, "--build-arg", "BASE=localhost/nnq-go-base:bookworm")
	}
	if v := os.Getenv("NNQ_DOCKER_JUPYTERLAB"); v != "" {
		buildArgs = append(buildArgs, "--build-arg", "JUPYTERLAB="+v)
	}
	// Behind a TLS-inspecting proxy, Go's downloads need its CA bundle.
	var caMount []string
	var caEnv []string
	if ca := os.Getenv("NNQ_DOCKER_CA"); ca != "" {
		caMount = []string{"-v", ca + ":/run/nnq-ca.crt:ro"}
		caEnv = []string{"env", "SSL_CERT_FILE=/run/nnq-ca.crt"}
		buildArgs = append(buildArgs, "--build-arg", "SSL_CERT_FILE=/run/nnq-ca.crt")
	}
	build := append(append([]string{}, podman...), "build", "--isolation", "chroot", "--network", "host",
		"-f", "docker/Dockerfile", "--ignorefile", "docker/Dockerfile.dockerignore", "-t", "localhost/nnq-notebooks:test")
	build = append(append(build, caMount...), buildArgs...)
	run("build", append(build, ".")...)

	// Run the notebooks in a container of the image. buildah's chroot
	// isolation runs where podman run cannot set resource limits.
	buildah := append([]string{"buildah"}, podman[1:]...)
	out, err := exec.CommandContext(ctx, buildah[0], append(buildah[1:], "from", "localhost/nnq-notebooks:test")...).Output()
	if err != nil {
		t.Fatalf("buildah from: %v", err)
	}
	ctr := strings.TrimSpace(string(out))
	defer exec.Command(buildah[0], append(buildah[1:], "rm", ctr)...).Run()
	mods := t.TempDir()
	runNB := append(append([]string{}, buildah...), "run", "--isolation", "chroot", "--network", "host",
		"-v", root+":/work/nnq", "-v", mods+":/go/pkg/mod")
	runNB = append(append(append(runNB, caMount...), ctr, "--"), caEnv...)
	run("notebooks in the image", append(runNB, "/work/nnq/notebooks/run.sh")...)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
