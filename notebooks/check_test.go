package notebooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxBytes bounds the notebooks folder: outputs are committed, so the PNGs
// must stay small.
const maxBytes = 8 << 20

type notebook struct {
	Cells []struct {
		Type    string          `json:"cell_type"`
		Source  json.RawMessage `json:"source"`
		Outputs []struct {
			Type string                     `json:"output_type"`
			Data map[string]json.RawMessage `json:"data"`
		} `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		NNQ struct {
			CodeSHA256 string `json:"code_sha256"`
			Plots      *bool  `json:"plots"`
		} `json:"nnq"`
	} `json:"metadata"`
}

// text joins a cell's source (a string or a list of lines).
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	json.Unmarshal(raw, &lines)
	return strings.Join(lines, "")
}

// codeSHA256 is the digest of the code cells' sources, as
// notebooks/nbtool.py computes it when it stores the outputs.
func codeSHA256(nb *notebook) string {
	h := sha256.New()
	for _, c := range nb.Cells {
		if c.Type == "code" {
			h.Write([]byte(text(c.Source)))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkStored reports why a committed notebook's outputs are not those of
// its code: code changed since `make notebooks`, no outputs, or no plot.
func checkStored(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if nb.Metadata.NNQ.CodeSHA256 == "" {
		return fmt.Errorf("%s: no stored outputs (metadata.nnq.code_sha256): run make notebooks", path)
	}
	if got := codeSHA256(&nb); got != nb.Metadata.NNQ.CodeSHA256 {
		return fmt.Errorf("%s: its code cells changed since its outputs were stored: run make notebooks", path)
	}
	outputs, pngs := 0, 0
	for _, c := range nb.Cells {
		outputs += len(c.Outputs)
		for _, o := range c.Outputs {
			if _, ok := o.Data["image/png"]; ok {
				pngs++
			}
		}
	}
	if outputs == 0 {
		return fmt.Errorf("%s: stored without outputs: run make notebooks", path)
	}
	if (nb.Metadata.NNQ.Plots == nil || *nb.Metadata.NNQ.Plots) && pngs == 0 {
		return fmt.Errorf("%s: stored without its plots: run make notebooks", path)
	}
	return nil
}

// TestNotebooksStoredWithTheirOutputs is the quick half of the staleness
// check (no Jupyter needed): every notebook carries outputs stored for its
// current code. run.sh re-executes them and compares the outputs.
func TestNotebooksStoredWithTheirOutputs(t *testing.T) {
	nbs, err := filepath.Glob("*.ipynb")
	if err != nil || len(nbs) == 0 {
		t.Fatalf("no notebooks: %v", err)
	}
	nbs = append(nbs, "testdata/good.ipynb")
	for _, p := range nbs {
		if err := checkStored(p); err != nil {
			t.Error(err)
		}
	}
}

func TestStaleCodeIsFound(t *testing.T) {
	b, err := os.ReadFile("testdata/good.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.ipynb")
	os.WriteFile(fresh, b, 0o644)
	if err := checkStored(fresh); err != nil {
		t.Fatalf("the committed good notebook: %v", err)
	}
	// Edit a code cell without storing its outputs again.
	edited := strings.Replace(string(b), "img.Set(3, 3,", "img.Set(4, 4,", 1)
	if edited == string(b) {
		t.Fatal("the edit did not apply")
	}
	stale := filepath.Join(dir, "stale.ipynb")
	os.WriteFile(stale, []byte(edited), 0o644)
	if err := checkStored(stale); err == nil || !strings.Contains(err.Error(), "code cells changed") {
		t.Fatalf("an edited cell passed: %v", err)
	}
	// Outputs cleared.
	var nb map[string]any
	json.Unmarshal(b, &nb)
	for _, c := range nb["cells"].([]any) {
		if cell := c.(map[string]any); cell["cell_type"] == "code" {
			cell["outputs"] = []any{}
		}
	}
	cleared, _ := json.Marshal(nb)
	os.WriteFile(stale, cleared, 0o644)
	if err := checkStored(stale); err == nil || !strings.Contains(err.Error(), "without outputs") {
		t.Fatalf("a notebook without outputs passed: %v", err)
	}
}

func TestNotebooksFolderIsSmall(t *testing.T) {
	var total int64
	filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if total > maxBytes {
		t.Fatalf("notebooks/ holds %d bytes, more than %d: make the plots smaller", total, maxBytes)
	}
	t.Logf("notebooks/: %.2f MB", float64(total)/(1<<20))
}
