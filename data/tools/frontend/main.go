// Command frontend records the input front end of KWS networks in their
// model files, in place, without retraining: the Hello Edge MFCC the
// networks were trained on (nnq.HelloEdgeFrontend, the features of
// tools/features), or none.
//
//	frontend [-none] kws-dscnn/model.arrow kws-dscnn/model.onnx ...
//
// An Arrow model is read, given the record and written back (nnq checks
// that the 49x10 map fills the input). An ONNX model gets (or loses) the
// metadata entry "nnq.frontend" holding the record's JSON; the rest of the
// file is kept byte for byte. Each file is read back with nnq afterwards.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx"
)

// ONNX ModelProto.metadata_props and StringStringEntryProto's fields.
const (
	metadataField = 14
	keyField      = 1
	valueField    = 2
)

func main() {
	none := flag.Bool("none", false, "remove the front end record instead")
	flag.Parse()
	log.SetFlags(0)
	if flag.NArg() == 0 {
		log.Fatal("usage: frontend [-none] MODEL.arrow|MODEL.onnx...")
	}
	fe := nnq.HelloEdgeFrontend()
	if *none {
		fe = nil
	}
	for _, path := range flag.Args() {
		var err error
		switch filepath.Ext(path) {
		case ".arrow":
			err = setArrow(path, fe)
		case ".onnx":
			err = setONNX(path, fe)
		default:
			err = errors.New("not an .arrow or .onnx model")
		}
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		log.Printf("frontend: %s: %s", path, fe)
	}
}

func setArrow(path string, fe *nnq.Frontend) error {
	m, err := nnq.ReadModel(path)
	if err != nil {
		return err
	}
	m.Frontend = fe
	if err := m.Check(); err != nil {
		return err
	}
	if err := nnq.WriteModel(path, m); err != nil {
		return err
	}
	back, err := nnq.ReadModel(path)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(back.Frontend, fe) {
		return errors.New("the record did not survive writing")
	}
	return nil
}

func setONNX(path string, fe *nnq.Frontend) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := withFrontendMetadata(data, fe)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	m, err := onnx.Read(tmp)
	if err == nil && !reflect.DeepEqual(m.Frontend, fe) {
		err = errors.New("the record did not survive writing")
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// withFrontendMetadata returns the serialized ModelProto data without its
// nnq.frontend metadata entries and, if fe is set, with a new one at the
// end (protobuf concatenates repeated fields, so order is free).
func withFrontendMetadata(data []byte, fe *nnq.Frontend) ([]byte, error) {
	var out []byte
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("not an ONNX model: %v", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, fmt.Errorf("not an ONNX model: %v", protowire.ParseError(m))
		}
		field := b[:n+m]
		b = b[n+m:]
		if num == metadataField && typ == protowire.BytesType {
			entry, _ := protowire.ConsumeBytes(field[n:])
			if key, _ := entryKey(entry); key == onnx.FrontendMetadataKey {
				continue
			}
		}
		out = append(out, field...)
	}
	if fe == nil {
		return out, nil
	}
	js, err := json.Marshal(fe)
	if err != nil {
		return nil, err
	}
	var entry []byte
	entry = protowire.AppendTag(entry, keyField, protowire.BytesType)
	entry = protowire.AppendString(entry, onnx.FrontendMetadataKey)
	entry = protowire.AppendTag(entry, valueField, protowire.BytesType)
	entry = protowire.AppendBytes(entry, js)
	out = protowire.AppendTag(out, metadataField, protowire.BytesType)
	return protowire.AppendBytes(out, entry), nil
}

// entryKey returns the key of a StringStringEntryProto.
func entryKey(entry []byte) (string, bool) {
	for b := entry; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return "", false
		}
		if num == keyField && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[n:])
			return string(bytes.Clone(v)), true
		}
		b = b[n+m:]
	}
	return "", false
}
