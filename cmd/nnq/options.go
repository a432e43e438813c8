package main

// Option checks. Every command lists its checks as rules, one per option,
// and runs them right after flag parsing, before any file is read: range
// checks, enumerations (targets from kernels.CoreNames, the one list),
// input files that must exist and output paths that must be usable. A new
// option adds a row.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// rule checks one option.
type rule struct {
	flag  string // as typed: "--bits", or "DIR" for a positional argument
	check func() error
}

// optionError is a command line with bad option values; main prints every
// problem and exits 2.
type optionError struct{ errs []error }

func (e *optionError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n  ")
}

// checkOptions runs every rule and reports all failures at once.
func checkOptions(rules ...rule) error {
	var errs []error
	for _, r := range rules {
		if err := r.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.flag, err))
		}
	}
	if len(errs) > 0 {
		return &optionError{errs}
	}
	return nil
}

// intRange accepts lo <= *v <= hi.
func intRange(flag string, v *int, lo, hi int) rule {
	return rule{flag, func() error {
		if *v < lo || *v > hi {
			return fmt.Errorf("%d is outside [%d, %d]", *v, lo, hi)
		}
		return nil
	}}
}

// atLeast accepts *v >= lo; what says what 0 means, if anything.
func atLeast(flag string, v *int, lo int, what string) rule {
	return rule{flag, func() error {
		if *v < lo {
			return fmt.Errorf("%d is below %d%s", *v, lo, what)
		}
		return nil
	}}
}

// oneOf accepts the listed values.
func oneOf[T comparable](flag string, v *T, values ...T) rule {
	return rule{flag, func() error {
		if slices.Contains(values, *v) {
			return nil
		}
		s := make([]string, len(values))
		for i, x := range values {
			s[i] = fmt.Sprint(x)
		}
		return fmt.Errorf("%v is not one of %s", *v, strings.Join(s, ", "))
	}}
}

// optional checks r only when *v is set.
func optional(v *string, r rule) rule {
	return rule{r.flag, func() error {
		if *v == "" {
			return nil
		}
		return r.check()
	}}
}

// targetRule accepts a name of kernels.CoreNames and canonicalises it.
func targetRule(flag string, v *string) rule {
	return rule{flag, func() error {
		c, err := kernels.CoreByName(*v)
		if err != nil {
			return err
		}
		*v = c.Name
		return nil
	}}
}

// targetHelp is the help text of a --target option.
func targetHelp(what string) string {
	return what + ": " + strings.Join(kernels.CoreNames(), ", ")
}

// schemeRule parses the scheme into *sc.
func schemeRule(flag string, v *string, sc *nnq.Scheme) rule {
	return rule{flag, func() (err error) {
		*sc, err = nnq.ParseScheme(*v)
		return err
	}}
}

// inputFile requires an existing regular file when *v is set (or always
// when required).
func inputFile(flag string, v *string, required bool) rule {
	return rule{flag, func() error {
		if *v == "" {
			if required {
				return errors.New("missing")
			}
			return nil
		}
		st, err := stat(*v)
		switch {
		case err != nil:
			return err
		case st.IsDir():
			return fmt.Errorf("%s is a directory, not a file", *v)
		}
		return nil
	}}
}

// inputDir requires an existing directory when *v is set.
func inputDir(flag string, v *string) rule {
	return rule{flag, func() error {
		if *v == "" {
			return nil
		}
		st, err := stat(*v)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", *v)
		}
		return nil
	}}
}

// stat is os.Stat with a plain message for a missing path.
func stat(path string) (os.FileInfo, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	return st, err
}

// outputFile requires a path a file can be written to: not a directory,
// in an existing directory.
func outputFile(flag string, v *string) rule {
	return rule{flag, func() error {
		if *v == "" {
			return nil
		}
		if st, err := os.Stat(*v); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory", *v)
		}
		dir := filepath.Dir(*v)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("directory %s does not exist", dir)
		}
		return nil
	}}
}

// exportDir requires an nnq export (a directory with codegen.ManifestFile).
func exportDir(flag string, v *string) rule {
	return rule{flag, func() error {
		st, err := stat(*v)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", *v)
		}
		if _, err := os.Stat(filepath.Join(*v, filepath.FromSlash(codegen.ManifestFile))); err != nil {
			return fmt.Errorf("%s is not an nnq export (no %s; run nnq convert first)", *v, codegen.ManifestFile)
		}
		return nil
	}}
}

// outputDir requires a directory nnq may write as a whole: a new path, an
// empty directory or an earlier export (which convert replaces), whose
// parent can be written. replaceable says what an existing directory must
// hold to be replaced ("" accepts any directory: bench adds files to it).
func outputDir(flag string, v *string, replaceable string) rule {
	return rule{flag, func() error {
		if *v == "" {
			return errors.New("missing")
		}
		st, err := os.Stat(*v)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("%s exists and is not a directory", *v)
		case err == nil && replaceable != "":
			entries, err := os.ReadDir(*v)
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(*v, filepath.FromSlash(replaceable))); len(entries) > 0 && err != nil {
				return fmt.Errorf("%s is a directory with files that are not an nnq export (no %s); nnq replaces its output directory, so name a new or empty directory", *v, replaceable)
			}
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return err
		}
		return writableAncestor(filepath.Dir(filepath.Clean(*v)))
	}}
}

// writableAncestor checks that the nearest existing ancestor of dir is a
// directory this process may create files in (access(2) with W_OK: the
// permissions, or a read-only file system).
func writableAncestor(dir string) error {
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			if err := syscall.Access(dir, 2); err != nil { // W_OK
				return fmt.Errorf("cannot write in %s: %w", dir, err)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		dir = parent
	}
}

// optInt is an integer option that may be left unset; its help shows no
// default.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = v, true
	return nil
}

// ptr returns the value as a pointer, nil when unset.
func (o *optInt) ptr() *int {
	if !o.set {
		return nil
	}
	return &o.v
}
