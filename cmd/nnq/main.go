// Command nnq converts a float neural network into a fixed-point CMSIS-NN C
// project (today's s8/s16 API or the legacy q7/q15 API) and proves it right.
//
//	nnq inspect MODEL                  (MODEL: nnq Arrow model or .onnx)
//	nnq import MODEL.onnx -o MODEL.arrow
//	nnq convert --model M --patterns P [--calib C] [--format q7|q15|s8|s16] [--scheme S] [--target T] --out DIR
//	nnq verify DIR [--target T] [--sanitize] [--cmsis PATH] [--cmsis-nn PATH]
//	nnq bench [--out docs] [--only s8]
//	nnq version                        (or nnq --version)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one subcommand.
type command struct {
	name, usage, help string
	run               func(args []string, stdout, stderr io.Writer) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// errUsage makes main print the command's usage.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "usage: nnq %s\n", c.usage)
				return 2
			}
			var oe *optionError
			if errors.As(err, &oe) {
				fmt.Fprintf(stderr, "nnq %s: bad options (nothing was read or written):\n  %v\nRun 'nnq %s -h' for the options.\n", c.name, err, c.name)
				return 2
			}
			fmt.Fprintf(stderr, "nnq %s: %v\n", c.name, err)
			if errors.Is(err, errInterrupted) {
				return 130
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "nnq: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "nnq turns a float neural network into a fixed-point CMSIS-NN C project and proves it right.")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nRun 'nnq COMMAND -h' for the options of one command, 'nnq --version' for the version.")
}

func newFlags(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nnq %s\n\n%s\n\n", c.usage, c.help)
		fs.PrintDefaults()
	}
	return fs
}
