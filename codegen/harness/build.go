package harness

import (
	"bytes"
	"context"
	"debug/elf"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

//go:embed files/nnq_main.c files/nnq_startup.c files/nnq_link.ld.in files/nnq_count_plugin.c files/nnq_info.h
var files embed.FS

// BuildOptions says what to build.
type BuildOptions struct {
	// ProjectDir holds the generated project: nn.h and the *.c files to
	// compile (all *.c directly in the directory). It is also on the
	// include path.
	ProjectDir string
	// CMSISPath, when set, is a CMSIS_5 checkout (or its CMSIS folder):
	// NN/Source/**/*.c are compiled in, NN/Include, DSP/Include and
	// Core/Include are added to the include path, and NNQ_USE_CMSIS is
	// defined.
	CMSISPath string
	// CMSISNNPath, when set, is a CMSIS-NN checkout (the s8/s16 API):
	// its Source/<family>/*.c are compiled in (with -fwrapv, as the
	// library's reference builds), Include is added to the include path
	// and NNQ_USE_CMSIS_NN is defined.
	CMSISNNPath string
	// Sanitize adds AddressSanitizer and UndefinedBehaviorSanitizer (host
	// only).
	Sanitize bool
	// Trace defines NNQ_TRACE: the network reports each layer's output,
	// Run returns the trace bytes and, on Cortex-M, per-layer instruction
	// counts.
	Trace bool
	// ExtraCFlags are appended after the harness's flags (so "-Os"
	// overrides the default -O2).
	ExtraCFlags []string
	// LibCFlags are added for the CMSIS library's own sources only (they
	// are then compiled separately), e.g. "-fno-sanitize=shift-base" to
	// keep the sanitizers on everything else.
	LibCFlags []string
	// OutDir receives the build; when empty a temporary directory is made
	// and removed by Binary.Close.
	OutDir string
	// Driver, when set, replaces the network driver nnq_main.c with these
	// C sources (file name → text; the Cortex-M startup code is still
	// added). Such a driver defines nnq_info with NNQ_DEFINE_INFO from
	// nnq_info.h (written next to it) and is run with Binary.Exec.
	Driver map[string][]byte
	// StartSymbol and EndSymbol name the code addresses the Cortex-M
	// instruction count runs between (default nn_run and nnq_run_done).
	StartSymbol, EndSymbol string
}

// Info describes the compiled network's interface, read from the nnq_info
// constant the driver places in the executable (so it is exactly what the
// compiler saw in nn.h).
type Info struct {
	InputSize       int // NN_INPUT_SIZE
	OutputSize      int // NN_OUTPUT_SIZE
	NumLayers       int // NN_NUM_LAYERS
	InputElemBytes  int // sizeof(nn_in_t): 1 or 2
	OutputElemBytes int // sizeof(nn_out_t): 1 or 2
}

// InputBytes is the size of one input pattern in bytes.
func (i Info) InputBytes() int { return i.InputSize * i.InputElemBytes }

// OutputBytes is the size of one output in bytes.
func (i Info) OutputBytes() int { return i.OutputSize * i.OutputElemBytes }

// Binary is a built driver + network, ready to run.
type Binary struct {
	Target Target
	// Path is the executable (host) or ELF image (Cortex-M).
	Path string
	// Trace tells whether the binary was built with NNQ_TRACE.
	Trace bool
	Info  Info

	dir     string
	ownDir  bool
	markers markers

	startSym, endSym string
}

// markers are the code addresses the counting plugin cuts the count at.
type markers struct {
	start, end, pause, resume uint64
	hasPause                  bool
}

// Build compiles the project in opts.ProjectDir with the harness driver
// for target t. Compiler errors come back with the compiler's own output.
func Build(ctx context.Context, t Target, opts BuildOptions) (*Binary, error) {
	if t.Name == "" {
		return nil, errors.New("harness: no target given")
	}
	if t.cpu == "" && t.Name != "host" {
		// A Target made by hand: resolve it.
		rt, err := TargetByName(t.Name)
		if err != nil {
			return nil, err
		}
		t = rt
	}
	if opts.ProjectDir == "" {
		return nil, errors.New("harness: BuildOptions.ProjectDir is empty")
	}
	proj, err := filepath.Abs(opts.ProjectDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(proj, "nn.h")); err != nil {
		return nil, fmt.Errorf("harness: project %s has no nn.h: %w", proj, err)
	}
	srcs, err := filepath.Glob(filepath.Join(proj, "*.c"))
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("harness: project %s has no .c files", proj)
	}
	sort.Strings(srcs)
	if opts.Sanitize && !t.IsHost() {
		return nil, fmt.Errorf("harness: Sanitize is only available for the host target, not %s", t.Name)
	}

	var cc string
	if t.IsHost() {
		cc, err = hostCC()
	} else {
		cc, err = armToolchain(ctx)
	}
	if err != nil {
		return nil, err
	}

	b := &Binary{Target: t, Trace: opts.Trace, startSym: opts.StartSymbol, endSym: opts.EndSymbol}
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, err
		}
		b.dir, err = filepath.Abs(opts.OutDir)
		if err != nil {
			return nil, err
		}
	} else {
		b.dir, err = os.MkdirTemp("", "nnq-harness-")
		if err != nil {
			return nil, err
		}
		b.ownDir = true
	}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()

	driver := map[string][]byte{}
	if opts.Driver != nil {
		for name, data := range opts.Driver {
			driver[filepath.Base(name)] = data
		}
	} else if driver["nnq_main.c"], err = files.ReadFile("files/nnq_main.c"); err != nil {
		return nil, err
	}
	if !t.IsHost() {
		if driver["nnq_startup.c"], err = files.ReadFile("files/nnq_startup.c"); err != nil {
			return nil, err
		}
	}
	info, err := files.ReadFile("files/nnq_info.h")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.dir, "nnq_info.h"), info, 0o644); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(driver))
	for name := range driver {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := driver[name]
		p := filepath.Join(b.dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		srcs = append(srcs, p)
	}

	args := []string{"-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"}
	args = append(args, t.archFlags()...)
	if opts.Trace {
		args = append(args, "-DNNQ_TRACE")
	}
	if opts.Sanitize {
		args = append(args, "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")
	}
	args = append(args, "-I"+proj)
	var libSrcs []string
	if opts.CMSISPath != "" {
		inc, csrcs, err := cmsisFiles(opts.CMSISPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "-DNNQ_USE_CMSIS")
		if t.fp {
			args = append(args, "-D__FPU_PRESENT=1")
		}
		for _, d := range inc {
			args = append(args, "-I"+d)
		}
		libSrcs = csrcs
	}
	if opts.CMSISNNPath != "" {
		inc, csrcs, err := cmsisNNFiles(opts.CMSISNNPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "-DNNQ_USE_CMSIS_NN", "-fwrapv", "-I"+inc)
		srcs = append(srcs, csrcs...)
	}
	if t.IsHost() {
		b.Path = filepath.Join(b.dir, "nnq_main")
	} else {
		b.Path = filepath.Join(b.dir, "nnq_main.elf")
		ld := filepath.Join(b.dir, "nnq_link.ld")
		if err := os.WriteFile(ld, linkerScript(t), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "-DNNQ_SEMIHOSTING", "-g", "-ffunction-sections", "-fdata-sections")
	}
	args = append(args, opts.ExtraCFlags...)
	if len(opts.LibCFlags) > 0 && len(libSrcs) > 0 {
		// The library's sources with their own flags, into objects linked
		// with the rest (CMSIS-NN's source file names are unique).
		largs := append(append(append(append([]string{}, args...), opts.LibCFlags...), "-c"), libSrcs...)
		cmd := exec.CommandContext(ctx, cc, largs...)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("harness: compiling the CMSIS library for %s failed (%v):\n%s", t.Name, err, strings.TrimSpace(string(out)))
		}
		for _, src := range libSrcs {
			srcs = append(srcs, filepath.Join(b.dir, strings.TrimSuffix(filepath.Base(src), ".c")+".o"))
		}
	} else {
		srcs = append(srcs, libSrcs...)
	}
	args = append(args, srcs...)
	if !t.IsHost() {
		args = append(args, "-T", filepath.Join(b.dir, "nnq_link.ld"),
			"--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
			"-Wl,--gc-sections", "-Wl,-Map="+filepath.Join(b.dir, "nnq_main.map"))
	}
	args = append(args, "-o", b.Path, "-lm")

	cmd := exec.CommandContext(ctx, cc, args...)
	cmd.Dir = b.dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("harness: compiling for %s: %w", t.Name, ctx.Err())
		}
		if region := memoryOverflow(out.String()); region != "" {
			return nil, fmt.Errorf("harness: the program does not fit the %s of the emulated %s board (%s; %d KiB): the network's arena, scratch or weights are too large for it; run it on a core with more memory (e.g. cortex-m3) or make the network smaller:\n%s",
				region, t.Name, t.machine, t.regionKiB(region), strings.TrimSpace(out.String()))
		}
		return nil, fmt.Errorf("harness: compiling for %s failed (%v):\n%s", t.Name, err, strings.TrimSpace(out.String()))
	}
	if err := b.readELF(); err != nil {
		return nil, err
	}
	ok = true
	return b, nil
}

// Close removes the build directory if Build made it.
func (b *Binary) Close() error {
	if b == nil || !b.ownDir || b.dir == "" {
		return nil
	}
	err := os.RemoveAll(b.dir)
	b.dir = ""
	return err
}

// Dir is the build directory (the driver sources, linker script and map
// file are kept there).
func (b *Binary) Dir() string { return b.dir }

func linkerScript(t Target) []byte {
	data, err := files.ReadFile("files/nnq_link.ld.in")
	if err != nil {
		panic(err)
	}
	r := strings.NewReplacer(
		"@FLASH_ORIGIN@", fmt.Sprintf("0x%08x", t.flash.origin),
		"@FLASH_LENGTH@", fmt.Sprintf("0x%x", t.flash.length),
		"@RAM_ORIGIN@", fmt.Sprintf("0x%08x", t.ram.origin),
		"@RAM_LENGTH@", fmt.Sprintf("0x%x", t.ram.length),
		"@STACK_SIZE@", fmt.Sprintf("0x%x", t.stackSize),
	)
	return []byte(r.Replace(string(data)))
}

// cmsisFiles finds the CMSIS-NN sources and include directories under
// path, which may be a CMSIS_5 checkout or its CMSIS folder.
func cmsisFiles(path string) (inc, srcs []string, err error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(filepath.Join(root, "CMSIS", "NN")); err == nil && st.IsDir() {
		root = filepath.Join(root, "CMSIS")
	}
	nn := filepath.Join(root, "NN", "Source")
	if st, err := os.Stat(nn); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("harness: CMSIS path %s has no NN/Source (nor CMSIS/NN/Source)", path)
	}
	err = filepath.WalkDir(nn, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".c") {
			srcs = append(srcs, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(srcs)
	for _, d := range []string{"NN/Include", "DSP/Include", "Core/Include", "DSP/PrivateInclude"} {
		p := filepath.Join(root, filepath.FromSlash(d))
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			inc = append(inc, p)
		}
	}
	return inc, srcs, nil
}

const infoMagic = 0x31514e4e

// readELF reads nnq_info and the marker addresses from the built image.
func (b *Binary) readELF() error {
	f, err := elf.Open(b.Path)
	if err != nil {
		return fmt.Errorf("harness: reading %s: %w", b.Path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("harness: reading symbols of %s: %w", b.Path, err)
	}
	byName := map[string]elf.Symbol{}
	for _, s := range syms {
		if _, dup := byName[s.Name]; !dup || elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			byName[s.Name] = s
		}
	}
	s, ok := byName["nnq_info"]
	if !ok || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
		return fmt.Errorf("harness: %s has no nnq_info symbol", b.Path)
	}
	sec := f.Sections[s.Section]
	data, err := sec.Data()
	if err != nil {
		return err
	}
	off := s.Value - sec.Addr
	if off+24 > uint64(len(data)) {
		return fmt.Errorf("harness: nnq_info out of its section in %s", b.Path)
	}
	w := func(i int) int { return int(f.ByteOrder.Uint32(data[off+uint64(4*i):])) }
	if uint32(w(0)) != infoMagic {
		return fmt.Errorf("harness: bad nnq_info magic in %s", b.Path)
	}
	b.Info = Info{InputSize: w(1), OutputSize: w(2), NumLayers: w(3), InputElemBytes: w(4), OutputElemBytes: w(5)}
	if b.Info.InputSize <= 0 || b.Info.OutputSize <= 0 || b.Info.NumLayers < 0 ||
		(b.Info.InputElemBytes != 1 && b.Info.InputElemBytes != 2) ||
		(b.Info.OutputElemBytes != 1 && b.Info.OutputElemBytes != 2) {
		return fmt.Errorf("harness: implausible network interface %+v (check nn.h)", b.Info)
	}
	if b.Target.IsHost() {
		return nil
	}
	addr := func(name string) (uint64, bool) {
		s, ok := byName[name]
		if !ok || s.Section == elf.SHN_UNDEF {
			return 0, false
		}
		return s.Value &^ 1, true
	}
	startSym, endSym := b.startSym, b.endSym
	if startSym == "" {
		startSym = "nn_run"
	}
	if endSym == "" {
		endSym = "nnq_run_done"
	}
	var ok1, ok2 bool
	b.markers.start, ok1 = addr(startSym)
	b.markers.end, ok2 = addr(endSym)
	if !ok1 || !ok2 {
		return fmt.Errorf("harness: %s lacks the %s / %s symbols", b.Path, startSym, endSym)
	}
	p, okp := addr("nnq_trace")
	r, okr := addr("nnq_trace_resume")
	if okp && okr {
		b.markers.pause, b.markers.resume, b.markers.hasPause = p, r, true
	}
	return nil
}

// Size returns the Berkeley text, data and bss sizes of the image, from
// arm-none-eabi-size (size for the host).
func (b *Binary) Size() (text, data, bss int, err error) {
	tool, pkg := armSize, "binutils-arm-none-eabi"
	if b.Target.IsHost() {
		tool, pkg = "size", "binutils"
	}
	p, err := lookTool(tool, pkg)
	if err != nil {
		return 0, 0, 0, err
	}
	out, err := exec.Command(p, "-B", b.Path).CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("harness: %s: %v: %s", tool, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return 0, 0, 0, fmt.Errorf("harness: unexpected %s output: %q", tool, out)
	}
	fields := strings.Fields(lines[1])
	if len(fields) < 3 {
		return 0, 0, 0, fmt.Errorf("harness: unexpected %s output: %q", tool, out)
	}
	var v [3]int
	for i := range v {
		v[i], err = strconv.Atoi(fields[i])
		if err != nil {
			return 0, 0, 0, fmt.Errorf("harness: unexpected %s output: %q", tool, out)
		}
	}
	return v[0], v[1], v[2], nil
}

// LibraryVersion describes the CMSIS-NN library in the tree at path (a
// CMSIS_5 checkout, its CMSIS folder, or a CMSIS-NN checkout) by the
// $Revision and $Date lines of its Include/arm_nnfunctions.h, e.g.
// "CMSIS-NN arm_nnfunctions.h V.9.0.0 of 19 April 2022" (CMSIS_5 5.9.0).
// It returns "" when the header or its revision line is missing.
func LibraryVersion(path string) string {
	if path == "" {
		return ""
	}
	var data []byte
	for _, d := range []string{"CMSIS/NN/Include", "NN/Include", "Include"} {
		b, err := os.ReadFile(filepath.Join(path, filepath.FromSlash(d), "arm_nnfunctions.h"))
		if err == nil {
			data = b
			break
		}
	}
	var rev, date string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "*"))
		if v, ok := strings.CutPrefix(line, "$Revision:"); ok && rev == "" {
			rev = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "$Date:"); ok && date == "" {
			date = strings.TrimSpace(v)
		}
	}
	if rev == "" {
		return ""
	}
	s := "CMSIS-NN arm_nnfunctions.h " + rev
	if date != "" {
		s += " of " + date
	}
	return s
}

// memoryOverflow returns "RAM" or "flash" when the linker's output says the
// image overflowed that region of the linker script, else "".
func memoryOverflow(ldOut string) string {
	switch {
	case strings.Contains(ldOut, "region `RAM' overflowed"), strings.Contains(ldOut, "in region `RAM'"):
		return "RAM"
	case strings.Contains(ldOut, "region `FLASH' overflowed"), strings.Contains(ldOut, "in region `FLASH'"):
		return "flash"
	}
	return ""
}

// regionKiB is the size of the target's RAM or flash region in KiB.
func (t Target) regionKiB(region string) int {
	if region == "RAM" {
		return int(t.ram.length >> 10)
	}
	return int(t.flash.length >> 10)
}
