package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx"
)

func init() {
	c := &command{name: "import", usage: "import MODEL.onnx [-o MODEL.arrow] [--name NAME] [--frontend mfcc|none|auto]",
		help: "convert an ONNX model into nnq's Arrow model format (NCHW; batchnorm and dropout kept, folded when loaded)"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		out := fs.String("o", "", "output Arrow model file (default: MODEL with the extension .arrow)")
		name := fs.String("name", "", "model name (default: the file name without extension)")
		frontend := fs.String("frontend", nnq.FrontendAuto, frontendHelp+"; auto: the ONNX metadata entry nnq.frontend")
		in, err := parseInterleaved(fs, args)
		if err != nil {
			return err
		}
		if len(in) != 1 {
			return errUsage
		}
		src := in[0]
		if *out == "" {
			*out = strings.TrimSuffix(src, filepath.Ext(src)) + ".arrow"
		}
		err = checkOptions(
			inputFile("MODEL", &src, true),
			outputFile("-o", out),
			frontendRule("--frontend", frontend),
			rule{"-o", func() error {
				if filepath.Clean(*out) == filepath.Clean(src) {
					return fmt.Errorf("%s would overwrite the input", *out)
				}
				return nil
			}},
		)
		if err != nil {
			return err
		}
		m, err := onnx.Read(src)
		if err != nil {
			return err
		}
		if *name != "" {
			m.Name = *name
		}
		if err := m.SetFrontend(*frontend); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		// Check now that nnq can use it (batchnorm folding and the CMSIS
		// reordering), so the Arrow file is never a dead end.
		p, err := m.Prepare()
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if _, err := p.ToCMSIS(); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if err := nnq.WriteModel(*out, m); err != nil {
			return err
		}
		ops := make([]string, len(m.Layers))
		for i, l := range m.Layers {
			ops[i] = string(l.Op)
		}
		fmt.Fprintf(stdout, "wrote %s: model %q, input %q %v (NCHW), %d layers: %s\n",
			*out, m.Name, m.InputName, m.InputShape, len(m.Layers), strings.Join(ops, " "))
		for _, n := range p.Notes {
			fmt.Fprintf(stdout, "  when loaded: %s\n", n)
		}
		if m.Frontend != nil {
			fmt.Fprintf(stdout, "  input front end: %s\n", m.Frontend)
		}
		return nil
	}
	register(c)
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (nnq import model.onnx -o model.arrow).
func parseInterleaved(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
