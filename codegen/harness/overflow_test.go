package harness

import (
	"strings"
	"testing"
)

// A program larger than the emulated board's RAM fails with an error that
// says so (which region, which board, how large it is), not only the
// linker's words.
func TestMemoryOverflowIsExplained(t *testing.T) {
	m0 := mustTarget(t, "cortex-m0")
	requireTools(t, m0)
	driver := []byte(`#include "nnq_info.h"
NNQ_DEFINE_INFO;
static volatile unsigned char big[64 * 1024];
int main(void)
{
    big[0] = 1;
    return big[sizeof big - 1];
}
`)
	_, err := Build(testCtx(t), m0, BuildOptions{ProjectDir: toyDir, Driver: map[string][]byte{"big_main.c": driver}})
	if err == nil {
		t.Fatal("a 64 KiB buffer linked for a 16 KiB board")
	}
	for _, want := range []string{"does not fit the RAM of the emulated cortex-m0 board", "16 KiB", "cortex-m3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestMemoryOverflowParse(t *testing.T) {
	for out, want := range map[string]string{
		"ld: x.elf section `.bss' will not fit in region `RAM'\nld: region `RAM' overflowed by 2552 bytes": "RAM",
		"ld: region `FLASH' overflowed by 12 bytes":                                                        "flash",
		"x.c:1: error: undeclared":                                                                         "",
	} {
		if got := memoryOverflow(out); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
}
