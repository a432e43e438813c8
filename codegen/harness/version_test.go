package harness

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLibraryVersion(t *testing.T) {
	header := "/*\n * Project:      CMSIS NN Library\n * $Date:        19 April 2022\n * $Revision:    V.9.0.0\n */\n"
	for _, c := range []struct{ name, dir, text, want string }{
		{"CMSIS_5 tree", "CMSIS/NN/Include", header, "CMSIS-NN arm_nnfunctions.h V.9.0.0 of 19 April 2022"},
		{"CMSIS folder", "NN/Include", header, "CMSIS-NN arm_nnfunctions.h V.9.0.0 of 19 April 2022"},
		{"CMSIS-NN checkout", "Include", " * $Revision:    V.18.0.0\n", "CMSIS-NN arm_nnfunctions.h V.18.0.0"},
		{"no revision line", "Include", "/* no version */\n", ""},
		{"no header", "", "", ""},
	} {
		root := t.TempDir()
		if c.dir != "" {
			d := filepath.Join(root, filepath.FromSlash(c.dir))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "arm_nnfunctions.h"), []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := LibraryVersion(root); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if lib := os.Getenv("CMSIS_PATH"); lib != "" && LibraryVersion(lib) == "" {
		t.Errorf("CMSIS_PATH %s: no version found", lib)
	}
}
