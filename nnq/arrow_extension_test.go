package nnq

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// testTensorType is a stand-in for an arrow.fixed_shape_tensor extension
// type, as a process that registered one would decode it.
type testTensorType struct {
	arrow.ExtensionBase
	meta string
}

type testTensorArray struct{ array.ExtensionArrayBase }

func (t *testTensorType) ArrayType() reflect.Type { return reflect.TypeOf(testTensorArray{}) }
func (t *testTensorType) ExtensionName() string   { return FixedShapeTensorExtension }
func (t *testTensorType) Serialize() string       { return t.meta }
func (t *testTensorType) String() string          { return "extension<" + FixedShapeTensorExtension + ">" }
func (t *testTensorType) ExtensionEquals(o arrow.ExtensionType) bool {
	return o.ExtensionName() == t.ExtensionName() && o.Serialize() == t.meta && arrow.TypeEqual(t.Storage, o.StorageType())
}
func (t *testTensorType) Deserialize(storage arrow.DataType, data string) (arrow.ExtensionType, error) {
	return &testTensorType{ExtensionBase: arrow.ExtensionBase{Storage: storage}, meta: data}, nil
}

// TestArrowRegisteredExtension reads model and pattern files while an
// arrow.fixed_shape_tensor extension type is registered, so columns decode
// as extension arrays instead of plain fixed-size lists.
func TestArrowRegisteredExtension(t *testing.T) {
	m := tinyModel()
	model := encodeBytes(t, m)
	p := makePatterns(1, 20, NCHW, true, 1, 4, 4)
	pats := patternBytes(t, p, PatternWriteOptions{BatchRows: 8})

	if err := arrow.RegisterExtensionType(&testTensorType{ExtensionBase: arrow.ExtensionBase{Storage: arrow.FixedSizeListOf(1, arrow.PrimitiveTypes.Float32)}}); err != nil {
		t.Skipf("cannot register: %v", err)
	}
	defer arrow.UnregisterExtensionType(FixedShapeTensorExtension)

	fr, err := ipc.NewFileReader(bytes.NewReader(model))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fr.Schema().Field(0).Type.(arrow.ExtensionType); !ok {
		t.Fatalf("column decodes as %s, not as the registered extension", fr.Schema().Field(0).Type)
	}
	fr.Close()

	got, err := DecodeModel(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, m)
	gp, err := DecodePatterns(bytes.NewReader(pats), int64(len(pats)))
	if err != nil {
		t.Fatal(err)
	}
	samePatterns(t, gp, p)
}
