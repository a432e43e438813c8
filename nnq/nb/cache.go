package nb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// File marks a key part as a file whose contents, not its name, key a
// cached result: nb.Cache("stats", []any{nb.File(model), 500}, ...).
// An empty File keys as "no file".
type File string

// Cache returns fn's result for (name, key), computing it at most once per
// notebook session: the result is stored gob-encoded on disk (under
// WorkDir("cache")), where the cells that run after it find it. The key
// is hashed with its types and values (pointers followed, functions
// skipped, File parts by content) together with the Go sources of the
// checkout, so editing nnq's code or a data file computes anew. T must be
// gob-encodable (exported fields).
func Cache[T any](name string, key any, fn func() T) T {
	path := filepath.Join(WorkDir("cache"), url.PathEscape(name)+"-"+CacheKey(name, key)+".gob")
	if b, err := os.ReadFile(path); err == nil {
		var v T
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v); err == nil {
			return v
		}
	}
	v := fn()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&v); err != nil {
		Must(fmt.Errorf("nb.Cache %q: the result cannot be stored: %w", name, err))
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	Must(os.WriteFile(tmp, buf.Bytes(), 0o644))
	Must(os.Rename(tmp, path))
	return v
}

// CacheKey is the hex digest Cache files a result under.
func CacheKey(name string, key any) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", name, SourceHash())
	hashValue(h, reflect.ValueOf(key), 0)
	return hex.EncodeToString(h.Sum(nil))[:24]
}

var (
	srcOnce sync.Once
	srcHash string
)

// SourceHash is a digest of go.mod and every non-test .go file of the
// checkout (outside testdata, notebooks and .git): what a cached result was
// computed with.
func SourceHash() string {
	srcOnce.Do(func() {
		r, err := FindRoot()
		if err != nil {
			srcHash = "no-checkout"
			return
		}
		h := sha256.New()
		var files []string
		filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && p != r && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "notebooks") {
				return filepath.SkipDir
			}
			if !d.IsDir() && ((strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go")) || d.Name() == "go.mod") {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			rel, _ := filepath.Rel(r, f)
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
			h.Write(b)
		}
		srcHash = hex.EncodeToString(h.Sum(nil))
	})
	return srcHash
}

var fileType = reflect.TypeOf(File(""))

// hashValue writes v's type and value into h.
func hashValue(h hash.Hash, v reflect.Value, depth int) {
	if depth > 64 {
		Must(fmt.Errorf("nb.Cache: the key nests too deep (a cycle?)"))
	}
	if !v.IsValid() {
		io.WriteString(h, "nil;")
		return
	}
	if v.Type() == fileType {
		hashFile(h, v.String())
		return
	}
	fmt.Fprintf(h, "%s:", v.Type())
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			io.WriteString(h, "nil;")
			return
		}
		hashValue(h, v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).Kind() == reflect.Func {
				continue
			}
			fmt.Fprintf(h, "%s=", v.Type().Field(i).Name)
			hashValue(h, v.Field(i), depth+1)
		}
	case reflect.Slice, reflect.Array:
		fmt.Fprintf(h, "%d[", v.Len())
		switch v.Type().Elem().Kind() {
		case reflect.Float32, reflect.Float64, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if v.Kind() == reflect.Slice && v.CanInterface() {
				binary.Write(h, binary.LittleEndian, v.Interface())
				break
			}
			fallthrough
		default:
			for i := 0; i < v.Len(); i++ {
				hashValue(h, v.Index(i), depth+1)
			}
		}
		io.WriteString(h, "]")
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		fmt.Fprintf(h, "%d{", len(keys))
		for _, k := range keys {
			hashValue(h, k, depth+1)
			hashValue(h, v.MapIndex(k), depth+1)
		}
		io.WriteString(h, "}")
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		io.WriteString(h, "-;")
	case reflect.Float32, reflect.Float64:
		fmt.Fprintf(h, "%x;", math.Float64bits(v.Float()))
	case reflect.Bool:
		fmt.Fprintf(h, "%v;", v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprintf(h, "%d;", v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprintf(h, "%d;", v.Uint())
	case reflect.String:
		fmt.Fprintf(h, "%q;", v.String())
	default:
		fmt.Fprintf(h, "%v;", v)
	}
}

// hashFile writes the digest of a file's contents (memoized per path,
// size and modification time).
func hashFile(h hash.Hash, path string) {
	if path == "" {
		io.WriteString(h, "file:none;")
		return
	}
	st, err := os.Stat(path)
	Must(err)
	memo := fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	fileMu.Lock()
	sum, ok := fileSums[memo]
	fileMu.Unlock()
	if !ok {
		f, err := os.Open(path)
		Must(err)
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		Must(err)
		sum = hex.EncodeToString(fh.Sum(nil))
		fileMu.Lock()
		fileSums[memo] = sum
		fileMu.Unlock()
	}
	fmt.Fprintf(h, "file:%s;", sum)
}

var (
	fileMu   sync.Mutex
	fileSums = map[string]string{}
)
