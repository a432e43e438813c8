package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	c := &command{name: "version", usage: "version", help: "print the module version, the VCS revision it was built from and the Go version"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return errUsage
		}
		fmt.Fprint(stdout, versionText())
		return nil
	}
	register(c)
}

// versionText describes the running binary from its build information:
//
//	nnq v1.2.3 (module github.com/nnq-toolkit/nnq)
//	revision 0123abcd... (modified), 2025-01-02T03:04:05Z
//	go1.26.0 linux/amd64
func versionText() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "nnq (no build information: built without module support)\n"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	out := fmt.Sprintf("nnq %s (module %s)\n", version, bi.Main.Path)
	if rev := settings["vcs.revision"]; rev != "" {
		out += "revision " + rev
		if settings["vcs.modified"] == "true" {
			out += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += ", " + t
		}
		out += "\n"
	} else {
		out += "revision unknown (built outside a git checkout, or with -buildvcs=false)\n"
	}
	return out + fmt.Sprintf("%s %s/%s\n", bi.GoVersion, settings["GOOS"], settings["GOARCH"])
}
