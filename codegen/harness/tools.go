package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MissingToolError reports a program or library the harness needs that is
// not installed, with the Debian package that provides it.
type MissingToolError struct {
	Tool    string // program or file looked for
	Package string // Debian package to install
	Detail  string // optional extra explanation
}

func (e *MissingToolError) Error() string {
	msg := fmt.Sprintf("harness: %s not found; install the Debian package %s (apt-get install -y %s)", e.Tool, e.Package, e.Package)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

const (
	armGCC  = "arm-none-eabi-gcc"
	armSize = "arm-none-eabi-size"
	qemuARM = "qemu-system-arm"
)

// hostCC returns the host C compiler: $CC if set, else cc.
func hostCC() (string, error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	p, err := exec.LookPath(cc)
	if err != nil {
		return "", &MissingToolError{Tool: cc + " (host C compiler)", Package: "gcc"}
	}
	return p, nil
}

func lookTool(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", &MissingToolError{Tool: name, Package: pkg}
	}
	return p, nil
}

// armToolchain returns arm-none-eabi-gcc after checking that newlib (with
// its nano and rdimon specs) is installed beside it.
func armToolchain(ctx context.Context) (string, error) {
	gcc, err := lookTool(armGCC, "gcc-arm-none-eabi")
	if err != nil {
		return "", err
	}
	for _, spec := range []string{"nano.specs", "rdimon.specs"} {
		out, err := exec.CommandContext(ctx, gcc, "-print-file-name="+spec).Output()
		p := strings.TrimSpace(string(out))
		if err != nil || !filepath.IsAbs(p) {
			return "", &MissingToolError{Tool: "newlib " + spec + " for " + armGCC, Package: "libnewlib-arm-none-eabi"}
		}
		if _, err := os.Stat(p); err != nil {
			return "", &MissingToolError{Tool: "newlib " + spec + " for " + armGCC, Package: "libnewlib-arm-none-eabi"}
		}
	}
	return gcc, nil
}

// CheckTools reports whether everything needed to build for and run on
// target t is installed; the error is a *MissingToolError when not.
func CheckTools(ctx context.Context, t Target) error {
	if t.IsHost() {
		_, err := hostCC()
		return err
	}
	if _, err := armToolchain(ctx); err != nil {
		return err
	}
	if _, err := hostCC(); err != nil { // builds the QEMU plugin
		return err
	}
	_, err := lookTool(qemuARM, "qemu-system-arm")
	return err
}
