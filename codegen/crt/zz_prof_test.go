package crt

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnq-toolkit/nnq/codegen/harness"
)

func TestZZProf(t *testing.T) {
	dir := "/tmp/prof/proj"
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "nn.h"), []byte(s8BenchHeader), 0o644)
	os.WriteFile(filepath.Join(dir, "bench.c"), []byte(s8BenchSource()), 0o644)
	for _, name := range Files() {
		if len(name) > 7 && name[:7] == "nnq_s8_" || name == "nnq_cmsis_s8.h" {
			data, _ := sources.ReadFile(srcDir + "/" + name)
			os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
	}
	tg, _ := harness.TargetByName("cortex-m4")
	bin, err := harness.Build(context.Background(), tg, harness.BuildOptions{ProjectDir: dir, OutDir: "/tmp/prof/out"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(bin.Path)
	os.WriteFile("/tmp/prof/out/in.bin", make([]byte, 490), 0o644)
}
