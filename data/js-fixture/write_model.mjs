// Writes a tiny nnq model file with the JavaScript Arrow implementation
// (npm apache-arrow), plus the float output for one input computed here with
// a naive loop. nnq's Go tests read both to check that a model written by
// another Arrow library loads and computes the same thing.
//
//   cd data/js-fixture && npm install && node write_model.mjs
//
// Output: nnq/testdata/arrow/js_model.arrow and js_model_expected.json.
//
// Network (NCHW): input [1,4,4] -> conv2d 2 filters 3x3 valid -> relu ->
// flatten (CHW order, 8 values) -> dense 3 -> softmax.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Field, Schema, FixedSizeList, Float32, Struct, makeData, RecordBatch, Table, tableToIPC,
} from 'apache-arrow';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'nnq', 'testdata', 'arrow');

// Deterministic parameter values, rounded to float32 once here so the
// reference below computes with exactly the stored values.
function values(n, seed) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i * 7 + seed * 3) % 11) - 5) / 10;
  return a;
}

const tensors = {
  'conv.weight': { shape: [2, 1, 3, 3], data: values(18, 1) }, // OIHW
  'conv.bias': { shape: [2], data: Float32Array.from([0.1, -0.2]) },
  'fc.weight': { shape: [3, 8], data: values(24, 2) }, // [out][in]
  'fc.bias': { shape: [3], data: Float32Array.from([0.05, 0, -0.05]) },
};

const graph = {
  version: 1,
  name: 'js_tiny',
  layout: 'NCHW',
  input: { name: 'input', shape: [1, 4, 4] },
  classes: ['a', 'b', 'c'],
  layers: [
    { name: 'conv', op: 'conv2d', attrs: { kernel: [3, 3], strides: [1, 1], padding: 'valid', filters: 2 },
      params: { weight: 'conv.weight', bias: 'conv.bias' } },
    { name: 'relu', op: 'relu', attrs: {} },
    { name: 'flatten', op: 'flatten', attrs: {} },
    { name: 'fc', op: 'dense', attrs: { units: 3 }, params: { weight: 'fc.weight', bias: 'fc.bias' } },
    { name: 'softmax', op: 'softmax', attrs: {} },
  ],
  notes: ['written by data/js-fixture/write_model.mjs with apache-arrow (JavaScript)'],
};

// One column per tensor: a single-row fixed_size_list<float32> tagged as
// the canonical arrow.fixed_shape_tensor extension.
const fields = [];
const columns = [];
for (const [name, t] of Object.entries(tensors)) {
  const n = t.data.length;
  const type = new FixedSizeList(n, new Field('item', new Float32(), false));
  fields.push(new Field(name, type, false, new Map([
    ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
    ['ARROW:extension:metadata', JSON.stringify({ shape: t.shape })],
  ])));
  const child = makeData({ type: new Float32(), length: n, nullCount: 0, data: t.data });
  columns.push(makeData({ type, length: 1, nullCount: 0, child }));
}
const schema = new Schema(fields, new Map([['nnq.model', JSON.stringify(graph)]]));
const batch = new RecordBatch(schema, makeData({
  type: new Struct(schema.fields), length: 1, nullCount: 0, children: columns,
}));
writeFileSync(join(outDir, 'js_model.arrow'), tableToIPC(new Table(schema, [batch]), 'file'));

// Naive float reference for one input.
const x = new Float32Array(16);
for (let i = 0; i < 16; i++) x[i] = (((i * 5) % 9) - 4) / 4;
const cw = tensors['conv.weight'].data, cb = tensors['conv.bias'].data;
const conv = [];
for (let o = 0; o < 2; o++) {
  for (let y = 0; y < 2; y++) {
    for (let xx = 0; xx < 2; xx++) {
      let s = cb[o];
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) s += cw[o * 9 + ky * 3 + kx] * x[(y + ky) * 4 + (xx + kx)];
      }
      conv.push(Math.max(0, s)); // relu; pushed in C,H,W order = flatten order
    }
  }
}
const fw = tensors['fc.weight'].data, fb = tensors['fc.bias'].data;
const logits = [];
for (let o = 0; o < 3; o++) {
  let s = fb[o];
  for (let i = 0; i < 8; i++) s += fw[o * 8 + i] * conv[i];
  logits.push(s);
}
const mx = Math.max(...logits);
const ex = logits.map((v) => Math.exp(v - mx));
const sum = ex.reduce((a, b) => a + b, 0);
const expected = { input: Array.from(x), logits, output: ex.map((v) => v / sum) };
writeFileSync(join(outDir, 'js_model_expected.json'), JSON.stringify(expected, null, 1) + '\n');
console.log('wrote', join(outDir, 'js_model.arrow'), expected.output);
