// Package testenv is how nnq's tests deal with a missing tool (a C
// compiler, make, cmake, the Arm toolchain, QEMU, Jupyter, GoNB, test data
// packages): they skip on a developer's machine, and fail in CI (CI=true),
// where scripts/install-deps.sh installs everything, so a test can never
// pass by silently not running. Every such skip in the repository goes
// through Missing.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI: the CI environment variable is
// "true" or "1" (as CI services set it).
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Missing skips the test because something it needs is not installed, or
// fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required tool is missing (scripts/install-deps.sh installs it): "+format, args...)
	}
	t.Skipf(format, args...)
}

// Tool returns the path of program name, or calls Missing naming the
// Debian package that provides it.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not found (Debian package %s)", name, pkg)
	}
	return p
}
