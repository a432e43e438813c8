package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/kernels"
)

const toyDir = "testdata/toy"

// toyDense mirrors testdata/toy/toy_layers.c.
func toyDense(in []int8, nOut, layer, shift int, relu bool) []int8 {
	out := make([]int8, nOut)
	for o := range out {
		acc := int32(4 * ((o*5+layer)%7 - 3))
		for i, x := range in {
			w := int32((o*7+i*3+layer)%11 - 5)
			acc += w * int32(x)
		}
		acc >>= shift
		acc = min(max(acc, -128), 127)
		if relu && acc < 0 {
			acc = 0
		}
		out[o] = int8(acc)
	}
	return out
}

// toyRef returns the toy network's output and its trace bytes.
func toyRef(in []int8) (out []int8, trace []byte) {
	h0 := toyDense(in, 12, 0, 3, true)
	h1 := toyDense(h0, 8, 1, 2, true)
	out = toyDense(h1, 4, 2, 2, false)
	for _, l := range [][]int8{h0, h1, out} {
		for _, v := range l {
			trace = append(trace, byte(v))
		}
	}
	return out, trace
}

// toyInputs makes n deterministic patterns, including saturating ones.
func toyInputs(n int) ([]byte, []byte, []byte) {
	var in, out, trace []byte
	x := uint32(12345)
	for p := 0; p < n; p++ {
		pat := make([]int8, 16)
		for i := range pat {
			x = x*1664525 + 1013904223
			switch p % 3 {
			case 0:
				pat[i] = int8(x >> 24)
			case 1:
				pat[i] = int8(x>>24) / 8
			default:
				pat[i] = 127 - int8(i)
			}
		}
		if pat[0] == -128 && pat[1] == -128 {
			pat[1] = 0
		}
		o, tr := toyRef(pat)
		for _, v := range pat {
			in = append(in, byte(v))
		}
		for _, v := range o {
			out = append(out, byte(v))
		}
		trace = append(trace, tr...)
	}
	return in, out, trace
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func requireTools(t *testing.T, tg Target) {
	t.Helper()
	if err := CheckTools(context.Background(), tg); err != nil {
		var me *MissingToolError
		if errors.As(err, &me) {
			testenv.Missing(t, "%s: %v", tg.Name, err)
		}
		t.Fatal(err)
	}
}

func mustTarget(t *testing.T, name string) Target {
	t.Helper()
	tg, err := TargetByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func build(t *testing.T, tg Target, opts BuildOptions) *Binary {
	t.Helper()
	if opts.ProjectDir == "" {
		opts.ProjectDir = toyDir
	}
	b, err := Build(testCtx(t), tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestTargets(t *testing.T) {
	// Every target of the one list has a board, in the same order.
	var got []string
	for _, tg := range Targets() {
		got = append(got, tg.Name)
	}
	if want := kernels.CoreNames(); !slices.Equal(got, want) {
		t.Errorf("targets with a board: %v; kernels.CoreNames() = %v", got, want)
	}
	for _, name := range []string{"host", "cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"} {
		tg := mustTarget(t, name)
		wantDSP := name == "cortex-m4" || name == "cortex-m7" || name == "cortex-m33"
		if tg.DSP() != wantDSP {
			t.Errorf("%s: DSP()=%v", name, tg.DSP())
		}
		if (tg.Board() == "") != (name == "host") {
			t.Errorf("%s: Board()=%q", name, tg.Board())
		}
		hasDSPFlag := strings.Contains(strings.Join(tg.archFlags(), " "), "-DARM_MATH_DSP")
		if hasDSPFlag != wantDSP {
			t.Errorf("%s: flags %v", name, tg.archFlags())
		}
	}
	if tg, err := TargetByName("M4"); err != nil || tg.Name != "cortex-m4" {
		t.Errorf("TargetByName(M4) = %v, %v", tg, err)
	}
	if _, err := TargetByName("cortex-a53"); err == nil {
		t.Error("unknown target accepted")
	}
}

func checkToy(t *testing.T, b *Binary, res *Result, wantOut, wantTrace []byte) {
	t.Helper()
	if !bytes.Equal(res.Outputs, wantOut) {
		t.Errorf("%s outputs:\n got %v\nwant %v", b.Target.Name, res.Outputs, wantOut)
	}
	if b.Trace && !bytes.Equal(res.Trace, wantTrace) {
		t.Errorf("%s trace:\n got %v\nwant %v", b.Target.Name, res.Trace, wantTrace)
	}
	if b.Trace && (len(res.TraceLayerBytes) != 3 || res.TraceLayerBytes[0] != 12 || res.TraceLayerBytes[1] != 8 || res.TraceLayerBytes[2] != 4) {
		t.Errorf("%s TraceLayerBytes = %v, want [12 8 4]", b.Target.Name, res.TraceLayerBytes)
	}
	if !b.Trace && res.Trace != nil {
		t.Errorf("%s: trace returned by a build without Trace", b.Target.Name)
	}
}

func TestHost(t *testing.T) {
	host := mustTarget(t, "host")
	requireTools(t, host)
	in, wantOut, wantTrace := toyInputs(7)
	for _, opts := range []BuildOptions{
		{Trace: true},
		{Trace: false},
		{Trace: true, Sanitize: true},
	} {
		b := build(t, host, opts)
		want := Info{InputSize: 16, OutputSize: 4, NumLayers: 3, InputElemBytes: 1, OutputElemBytes: 1}
		if b.Info != want {
			t.Fatalf("Info = %+v, want %+v", b.Info, want)
		}
		res, err := b.Run(testCtx(t), in, 7)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		checkToy(t, b, res, wantOut, wantTrace)
		if res.Instructions != nil {
			t.Error("host run returned instruction counts")
		}
		if got := res.PatternTrace(1); b.Trace && !bytes.Equal(got, wantTrace[24:48]) {
			t.Errorf("PatternTrace(1) = %v", got)
		}
	}
}

func TestBadInputs(t *testing.T) {
	host := mustTarget(t, "host")
	requireTools(t, host)
	b := build(t, host, BuildOptions{Trace: true})
	if _, err := b.Run(testCtx(t), make([]byte, 17), 1); err == nil {
		t.Error("wrong input length accepted")
	}
	res, err := b.Run(testCtx(t), nil, 0)
	if err != nil || len(res.Outputs) != 0 {
		t.Errorf("empty run: %v, %v", res, err)
	}
}

func TestCompileError(t *testing.T) {
	host := mustTarget(t, "host")
	requireTools(t, host)
	dir := t.TempDir()
	copyDir(t, toyDir, dir)
	if err := os.WriteFile(filepath.Join(dir, "broken.c"), []byte("int broken(void) { return undeclared_thing; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(testCtx(t), host, BuildOptions{ProjectDir: dir})
	if err == nil {
		t.Fatal("broken project built")
	}
	for _, want := range []string{"broken.c:1", "undeclared_thing", "error"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// A warning is an error too (-Werror).
	if err := os.WriteFile(filepath.Join(dir, "broken.c"), []byte("int broken(int unused_arg) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(testCtx(t), host, BuildOptions{ProjectDir: dir}); err == nil || !strings.Contains(err.Error(), "unused_arg") {
		t.Errorf("warning not reported as an error: %v", err)
	}
}

func TestMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Build(testCtx(t), mustTarget(t, "cortex-m3"), BuildOptions{ProjectDir: toyDir})
	var me *MissingToolError
	if !errors.As(err, &me) || me.Package != "gcc-arm-none-eabi" || !strings.Contains(err.Error(), "apt-get install -y gcc-arm-none-eabi") {
		t.Errorf("err = %v", err)
	}
}

func TestCMSISPath(t *testing.T) {
	host := mustTarget(t, "host")
	requireTools(t, host)
	// A stand-in CMSIS tree: the harness must compile NN/Source/**/*.c,
	// put NN/Include on the path and define NNQ_USE_CMSIS.
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("CMSIS/NN/Include/fake_nn.h", "int fake_cmsis_fn(void);\n")
	write("CMSIS/NN/Source/Sub/fake.c", "#include \"fake_nn.h\"\n#ifndef NNQ_USE_CMSIS\n#error no NNQ_USE_CMSIS\n#endif\nint fake_cmsis_fn(void) { return 0; }\n")
	proj := t.TempDir()
	copyDir(t, toyDir, proj)
	if err := os.WriteFile(filepath.Join(proj, "use.c"), []byte("#include \"fake_nn.h\"\nint use_fake(void);\nint use_fake(void) { return fake_cmsis_fn(); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := build(t, host, BuildOptions{ProjectDir: proj, CMSISPath: root})
	in, wantOut, _ := toyInputs(2)
	res, err := b.Run(testCtx(t), in, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkToy(t, b, res, wantOut, nil)
	if _, err := Build(testCtx(t), host, BuildOptions{ProjectDir: proj, CMSISPath: t.TempDir()}); err == nil {
		t.Error("CMSIS path without NN/Source accepted")
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// errorPattern makes the toy's nn_run fail.
var errorPattern = append([]byte{0x80, 0x80}, make([]byte, 14)...)

func TestRunError(t *testing.T) {
	for _, name := range []string{"host", "cortex-m3"} {
		tg := mustTarget(t, name)
		t.Run(name, func(t *testing.T) {
			requireTools(t, tg)
			b := build(t, tg, BuildOptions{})
			in, _, _ := toyInputs(1)
			_, err := b.Run(testCtx(t), append(in, errorPattern...), 2)
			var re *RunError
			if !errors.As(err, &re) || re.ExitCode != 4 || !strings.Contains(err.Error(), "nn_run returned an error") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestFault checks that a CPU fault in the network ends the run with a
// clear error instead of hanging QEMU.
func TestFault(t *testing.T) {
	tg := mustTarget(t, "cortex-m0")
	requireTools(t, tg)
	b := build(t, tg, BuildOptions{ExtraCFlags: []string{"-DTOY_FAULT"}})
	_, err := b.Run(testCtx(t), append([]byte{0x80, 0x7f}, make([]byte, 14)...), 1)
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 70 || !strings.Contains(err.Error(), "CPU fault") {
		t.Errorf("err = %v", err)
	}
}

// TestCortexM runs the toy on every Cortex-M target under QEMU, checks the
// outputs and trace against the Go reference (so against the host too),
// and checks the instruction counts: positive, identical on a second run
// of the same binary, per-layer counts summing to the total.
func TestCortexM(t *testing.T) {
	const n = 6
	in, wantOut, wantTrace := toyInputs(n)
	for _, name := range []string{"cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"} {
		tg := mustTarget(t, name)
		t.Run(name, func(t *testing.T) {
			requireTools(t, tg)
			bt := build(t, tg, BuildOptions{Trace: true})
			r1, err := bt.Run(testCtx(t), in, n)
			if err != nil {
				t.Fatal(err)
			}
			checkToy(t, bt, r1, wantOut, wantTrace)
			r2, err := bt.Run(testCtx(t), in, n)
			if err != nil {
				t.Fatal(err)
			}
			checkToy(t, bt, r2, wantOut, wantTrace)
			if len(r1.Instructions) != n || len(r1.LayerInstructions) != n {
				t.Fatalf("counts: %v %v", r1.Instructions, r1.LayerInstructions)
			}
			for p := 0; p < n; p++ {
				if r1.Instructions[p] == 0 || r1.Instructions[p] != r2.Instructions[p] {
					t.Errorf("pattern %d: counts %d and %d", p, r1.Instructions[p], r2.Instructions[p])
				}
				var sum uint64
				for l, c := range r1.LayerInstructions[p] {
					if c == 0 || c != r2.LayerInstructions[p][l] {
						t.Errorf("pattern %d layer %d: counts %d and %d", p, l, c, r2.LayerInstructions[p][l])
					}
					sum += c
				}
				if sum != r1.Instructions[p] {
					t.Errorf("pattern %d: layers sum to %d, total %d", p, sum, r1.Instructions[p])
				}
			}

			// Without tracing: same outputs, counts exact and repeatable,
			// a little lower (no nnq_trace calls in the network code).
			b := build(t, tg, BuildOptions{})
			r3, err := b.Run(testCtx(t), in, n)
			if err != nil {
				t.Fatal(err)
			}
			checkToy(t, b, r3, wantOut, nil)
			r4, err := b.Run(testCtx(t), in, n)
			if err != nil {
				t.Fatal(err)
			}
			for p := 0; p < n; p++ {
				if r3.Instructions[p] == 0 || r3.Instructions[p] != r4.Instructions[p] {
					t.Errorf("untraced pattern %d: counts %d and %d", p, r3.Instructions[p], r4.Instructions[p])
				}
				if r3.Instructions[p] > r1.Instructions[p] {
					t.Errorf("pattern %d: untraced count %d > traced %d", p, r3.Instructions[p], r1.Instructions[p])
				}
			}
			if r3.LayerInstructions != nil {
				t.Error("per-layer counts from a build without Trace")
			}
			text, data, bss, err := b.Size()
			if err != nil {
				t.Fatal(err)
			}
			if text <= 0 || bss <= 0 {
				t.Errorf("Size() = %d %d %d", text, data, bss)
			}
			t.Logf("%s on %s: %d instructions/inference (%d traced, layers %v), text=%d data=%d bss=%d, run %v",
				name, tg.Board(), r3.Instructions[0], r1.Instructions[0], r1.LayerInstructions[0], text, data, bss, r3.Elapsed.Round(time.Millisecond))
		})
	}
}

// toy16Ref mirrors testdata/toy16/nn.c.
func toy16Ref(in []int16) (h, out []int16) {
	for o := 0; o < 3; o++ {
		var acc int32
		for i, x := range in {
			acc += int32(300*(o+1)-97*i) * int32(x)
		}
		acc >>= 8
		h = append(h, int16(min(max(acc, -32768), 32767)))
		out = append(out, max(h[o], 0))
	}
	return h, out
}

func le16(v []int16) []byte {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = append(b, byte(x), byte(uint16(x)>>8))
	}
	return b
}

// TestQ15 checks 16-bit input/output, per-layer trace slicing and the
// trace contract check, on the host and on cortex-m4.
func TestQ15(t *testing.T) {
	const n = 4
	var in, wantOut []byte
	var wantH [][]byte
	for p := 0; p < n; p++ {
		pat := []int16{int16(1000 * p), -32768, 32767, int16(-77 * p), 5}
		h, out := toy16Ref(pat)
		in = append(in, le16(pat)...)
		wantOut = append(wantOut, le16(out)...)
		wantH = append(wantH, le16(h))
	}
	for _, name := range []string{"host", "cortex-m4"} {
		tg := mustTarget(t, name)
		t.Run(name, func(t *testing.T) {
			requireTools(t, tg)
			b := build(t, tg, BuildOptions{ProjectDir: "testdata/toy16", Trace: true})
			if want := (Info{InputSize: 5, OutputSize: 3, NumLayers: 2, InputElemBytes: 2, OutputElemBytes: 2}); b.Info != want {
				t.Fatalf("Info = %+v, want %+v", b.Info, want)
			}
			res, err := b.Run(testCtx(t), in, n)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Outputs, wantOut) {
				t.Errorf("outputs %v, want %v", res.Outputs, wantOut)
			}
			if len(res.TraceLayerBytes) != 2 || res.TraceLayerBytes[0] != 6 || res.TraceLayerBytes[1] != 6 {
				t.Fatalf("TraceLayerBytes = %v", res.TraceLayerBytes)
			}
			for p := 0; p < n; p++ {
				if got := res.LayerTrace(p, 0); !bytes.Equal(got, wantH[p]) {
					t.Errorf("pattern %d layer 0 trace %v, want %v", p, got, wantH[p])
				}
				if got := res.LayerTrace(p, 1); !bytes.Equal(got, res.Output(p)) {
					t.Errorf("pattern %d layer 1 trace %v, want %v", p, got, res.Output(p))
				}
			}

			bad := build(t, tg, BuildOptions{ProjectDir: "testdata/toy16", Trace: true, ExtraCFlags: []string{"-DTOY16_SKIP_TRACE"}})
			_, err = bad.Run(testCtx(t), in, n)
			var re *RunError
			if !errors.As(err, &re) || re.ExitCode != 5 {
				t.Errorf("skipped trace call: err = %v", err)
			}
		})
	}
}
