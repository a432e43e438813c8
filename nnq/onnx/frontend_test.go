package onnx

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// mfccONNX is a 49x10 input, flatten, dense-3 graph with the given
// metadata entries.
func mfccONNX(t *testing.T, meta map[string]string) []byte {
	t.Helper()
	b := newONNXGraph("x", 1, 1, 49, 10)
	b.init("w", nil, 490, 3)
	b.ints("shape", 1, 490)
	b.node("Reshape", "flat", []string{"x", "shape"}, []string{"f"})
	b.node("MatMul", "fc", []string{"f", "w"}, []string{"y"})
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b.bytes(t, "y"), &mp); err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)})
	}
	data, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestONNXFrontendMetadata(t *testing.T) {
	js, err := json.Marshal(nnq.HelloEdgeFrontend())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(mfccONNX(t, map[string]string{FrontendMetadataKey: string(js)}), "mfcc")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Frontend, nnq.HelloEdgeFrontend()) {
		t.Fatalf("front end %+v", m.Frontend)
	}
	if m, err = Decode(mfccONNX(t, nil), "plain"); err != nil || m.Frontend != nil {
		t.Fatalf("without metadata: %v, %+v", err, m.Frontend)
	}
	for _, c := range []struct{ value, want string }{
		{`{"kind":"mfcc"`, "not a front end record"},
		{strings.Replace(string(js), `"kind"`, `"sort"`, 1), `unknown field "sort"`},
		{strings.Replace(string(js), `"num_coeffs":10`, `"num_coeffs":12`, 1), "49x12 maps"},
		{strings.Replace(string(js), `"window":"hann_periodic"`, `"window":"hamming"`, 1), `window "hamming"`},
	} {
		_, err := Decode(mfccONNX(t, map[string]string{FrontendMetadataKey: c.value}), "bad")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.value, err, c.want)
		}
	}
}
