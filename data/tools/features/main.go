// Command features turns the KWS WAV clips listed in an index.csv (written
// by kwssynth) into HelloEdge MFCC feature maps computed by nnq/audio, so
// the float networks are trained on exactly the features nnq feeds them.
//
// Usage:
//
//	features -in build/kws
//
// reads in/index.csv and in/<file> and writes in/features.bin (row i of
// index.csv → 49*10 little-endian float32 values, frame-major, i.e. the NCHW
// pattern [1][49][10]) and in/features.json (shape, count and "frontend":
// the nnq.Frontend record tools/export writes into the KWS models).
package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

func main() {
	in := flag.String("in", "build/kws", "data directory holding index.csv")
	flag.Parse()
	log.SetFlags(0)
	f, err := os.Open(filepath.Join(*in, "index.csv"))
	if err != nil {
		log.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	rows = rows[1:]
	shape := audio.MustMFCC(audio.HelloEdge).Shape()
	size := shape[0] * shape[1]
	feats := make([]float32, len(rows)*size)
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				s, rate, err := audio.ReadWAVFile(filepath.Join(*in, rows[i][0]))
				if err != nil {
					log.Fatal(err)
				}
				if rate != audio.SampleRate {
					log.Fatalf("%s: %d Hz, want %d", rows[i][0], rate, audio.SampleRate)
				}
				copy(feats[i*size:], audio.Features(s))
			}
		}()
	}
	for i := range rows {
		ch <- i
	}
	close(ch)
	wg.Wait()
	buf := make([]byte, 4*len(feats))
	for i, v := range feats {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(*in, "features.bin"), buf, 0o644); err != nil {
		log.Fatal(err)
	}
	meta, _ := json.MarshalIndent(map[string]any{
		"shape": []int{1, shape[0], shape[1]}, "count": len(rows), "dtype": "float32",
		"frontend": nnq.HelloEdgeFrontend(),
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(*in, "features.json"), meta, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("features: %d clips → %s", len(rows), filepath.Join(*in, "features.bin"))
}
