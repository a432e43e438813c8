// Command export turns the intermediate files the training scripts write
// under data/build/ into nnq Arrow files.
//
//	export -model build/kws-dscnn -o kws-dscnn/model.arrow [-check kws/patterns.arrow] [-frontend build/kws/features.json]
//	export -patterns build/kws-patterns -o kws/patterns.arrow [-compress zstd]
//
// A model directory holds model.json (the nnq graph JSON plus "tensors":
// {name: {"shape", "file"}}) and one raw little-endian float32 file per
// tensor. A patterns directory holds patterns.json ({"shape", "layout",
// "count", "inputs", "labels", "splits"}), inputs (float32 LE), labels
// (int32 LE) and splits (one name a line). See data/train/common.py.
//
// With -check, the written model is read back with nnq.Load (batchnorm
// folded) and its float accuracy on the test split of the given pattern
// file is compared with the training script's figure (accuracy.json next
// to model.json); a difference over 0.05 points is an error.
//
// With -frontend, the "frontend" record of the given features.json (written
// by tools/features: how the network's input is computed from audio) is
// stored in the model, so that nnq exports the MFCC front end with it.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
)

func main() {
	modelDir := flag.String("model", "", "model directory (model.json + tensors)")
	patDir := flag.String("patterns", "", "patterns directory (patterns.json + data)")
	out := flag.String("o", "", "output .arrow file")
	check := flag.String("check", "", "pattern file to check the written model's float test accuracy on")
	compress := flag.String("compress", "zstd", "pattern file body compression: zstd, lz4 or none")
	frontend := flag.String("frontend", "", "features.json whose \"frontend\" record the model gets")
	flag.Parse()
	log.SetFlags(0)
	if *out == "" || (*modelDir == "") == (*patDir == "") {
		log.Fatal("usage: export (-model DIR | -patterns DIR) -o FILE.arrow")
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		log.Fatal(err)
	}
	if *modelDir != "" {
		m, err := buildModel(*modelDir)
		if err != nil {
			log.Fatal(err)
		}
		if *frontend != "" {
			if m.Frontend, err = readFrontend(*frontend); err != nil {
				log.Fatal(err)
			}
		}
		if err := nnq.WriteModel(*out, m); err != nil {
			log.Fatal(err)
		}
		if _, err := nnq.ReadModel(*out); err != nil {
			log.Fatalf("reading back: %v", err)
		}
		log.Printf("export: %s: %d layers, %d tensors", *out, len(m.Layers), len(m.Tensors))
		if *check != "" {
			if err := checkAccuracy(*out, *check, filepath.Join(*modelDir, "accuracy.json")); err != nil {
				log.Fatal(err)
			}
		}
		return
	}
	p, err := buildPatterns(*patDir)
	if err != nil {
		log.Fatal(err)
	}
	c := nnq.Compression(*compress)
	if c == "none" {
		c = nnq.Uncompressed
	}
	if err := nnq.WritePatternsCompressed(*out, p, c); err != nil {
		log.Fatal(err)
	}
	log.Printf("export: %s: %d patterns of %v", *out, p.Len(), p.Shape)
}

type tensorRef struct {
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

type graphFile struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Layout  string `json:"layout"`
	Input   struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"input"`
	Classes []string             `json:"classes"`
	Layers  []*nnq.Layer         `json:"layers"`
	Tensors map[string]tensorRef `json:"tensors"`
}

func buildModel(dir string) (*nnq.Model, error) {
	var g graphFile
	if err := readJSON(filepath.Join(dir, "model.json"), &g); err != nil {
		return nil, err
	}
	if g.Version != nnq.ModelFormatVersion {
		return nil, fmt.Errorf("%s: graph version %d, want %d", dir, g.Version, nnq.ModelFormatVersion)
	}
	m := &nnq.Model{
		Name:       g.Name,
		Layout:     nnq.Layout(g.Layout),
		InputName:  g.Input.Name,
		InputShape: g.Input.Shape,
		Classes:    g.Classes,
		Layers:     g.Layers,
		Tensors:    map[string]*nnq.Tensor{},
	}
	for name, ref := range g.Tensors {
		data, err := readFloats(filepath.Join(dir, ref.File))
		if err != nil {
			return nil, err
		}
		t := &nnq.Tensor{Name: name, Shape: ref.Shape, Data: data}
		if t.Size() != len(data) {
			return nil, fmt.Errorf("tensor %s: shape %v but %d values", name, ref.Shape, len(data))
		}
		m.Tensors[name] = t
	}
	return m, nil
}

type patternsFile struct {
	Shape  []int  `json:"shape"`
	Layout string `json:"layout"`
	Count  int    `json:"count"`
	Inputs string `json:"inputs"`
	Labels string `json:"labels"`
	Splits string `json:"splits"`
}

func buildPatterns(dir string) (*nnq.Patterns, error) {
	var pf patternsFile
	if err := readJSON(filepath.Join(dir, "patterns.json"), &pf); err != nil {
		return nil, err
	}
	in, err := readFloats(filepath.Join(dir, pf.Inputs))
	if err != nil {
		return nil, err
	}
	lb, err := os.ReadFile(filepath.Join(dir, pf.Labels))
	if err != nil {
		return nil, err
	}
	p := &nnq.Patterns{Shape: pf.Shape, Layout: nnq.Layout(pf.Layout), Inputs: in, Labels: make([]int32, len(lb)/4)}
	for i := range p.Labels {
		p.Labels[i] = int32(binary.LittleEndian.Uint32(lb[4*i:]))
	}
	if pf.Splits != "" {
		sb, err := os.ReadFile(filepath.Join(dir, pf.Splits))
		if err != nil {
			return nil, err
		}
		p.Splits = strings.Fields(string(sb))
	}
	if p.Len() != pf.Count {
		return nil, fmt.Errorf("%s: %d patterns, index says %d", dir, p.Len(), pf.Count)
	}
	return p, p.Check()
}

func checkAccuracy(modelPath, patPath, accPath string) error {
	var want struct {
		TestAccuracy float64 `json:"test_accuracy"`
		Correct      int     `json:"correct"`
		TestSize     int     `json:"test_size"`
	}
	if err := readJSON(accPath, &want); err != nil {
		return err
	}
	fw, err := nnq.Load(modelPath)
	if err != nil {
		return err
	}
	m, err := fw.ToCMSIS()
	if err != nil {
		return err
	}
	p, err := nnq.ReadPatterns(patPath)
	if err != nil {
		return err
	}
	test := p.Split("test")
	if test.Len() != want.TestSize {
		return fmt.Errorf("%s: %d test patterns, training used %d", patPath, test.Len(), want.TestSize)
	}
	acc, err := m.Accuracy(test)
	if err != nil {
		return err
	}
	trained := float64(want.Correct) / float64(want.TestSize)
	log.Printf("export: %s: nnq float test accuracy %.4f (%d patterns), training script %.4f", modelPath, acc, test.Len(), trained)
	if d := math.Abs(acc-trained) * 100; d > 0.05 {
		return fmt.Errorf("%s: nnq float accuracy %.4f differs from the training script's %.4f by %.3f points", modelPath, acc, trained, d)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readFloats(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// readFrontend reads the "frontend" record of a features.json strictly.
func readFrontend(path string) (*nnq.Frontend, error) {
	var f struct {
		Frontend json.RawMessage `json:"frontend"`
	}
	if err := readJSON(path, &f); err != nil {
		return nil, err
	}
	if len(f.Frontend) == 0 {
		return nil, fmt.Errorf("%s has no \"frontend\" record (rerun tools/features)", path)
	}
	fe, err := nnq.ParseFrontend(f.Frontend)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fe, nil
}
