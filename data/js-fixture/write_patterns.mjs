// Writes nnq pattern files with the JavaScript Arrow implementation (npm
// apache-arrow), the way docs/FORMAT.md tells a JS user to:
//
//   cd data/js-fixture && npm install && node write_patterns.mjs
//
// Output in nnq/testdata/arrow/:
//   js_patterns.arrow      IPC file, uncompressed: input fixed_shape_tensor
//                          [1,4,4] (list child field "element", nullable),
//                          label int32, split dictionary<int32, utf8> (the
//                          JS defaults); nnq reads it.
//   js_patterns_lz4.arrow  the same with LZ4_FRAME body compression (codec:
//                          lz4js). apache-arrow 21.x places the compressed
//                          buffers at offsets it never pads to, so the file
//                          is broken; nnq must say "write it uncompressed".
//   js_patterns.arrows     the IPC stream format (tableToIPC(t, 'stream')),
//                          which nnq refuses with the snippet to fix it.
// and js_patterns_expected.json (the values, for the Go test).

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Field, Schema, FixedSizeList, Float32, Int32, Utf8, Dictionary, Struct, makeData, makeVector,
  RecordBatch, Table, tableToIPC, vectorFromArray, compressionRegistry, CompressionType,
} from 'apache-arrow';
import * as lz4 from 'lz4js';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'nnq', 'testdata', 'arrow');

const n = 12, size = 16;
const x = new Float32Array(n * size);
for (let i = 0; i < x.length; i++) x[i] = (((i * 13) % 17) - 8) / 8;
const labels = Int32Array.from({ length: n }, (_, i) => (i % 4 === 3 ? -1 : i % 3));
const splits = Array.from({ length: n }, (_, i) => ['train', 'val', 'test'][i % 3]);

const inputType = new FixedSizeList(size, new Field('element', new Float32(), true));
const splitType = new Dictionary(new Utf8(), new Int32());
const schema = new Schema([
  new Field('input', inputType, false, new Map([
    ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
    ['ARROW:extension:metadata', JSON.stringify({ shape: [1, 4, 4] })],
  ])),
  new Field('label', new Int32(), false),
  new Field('split', splitType, true),
], new Map([['nnq.layout', 'NCHW']]));

const input = makeData({ type: inputType, length: n, nullCount: 0,
  child: makeData({ type: new Float32(), length: x.length, nullCount: 0, data: x }) });
const label = makeData({ type: new Int32(), length: n, nullCount: 0, data: labels });
const split = vectorFromArray(splits, splitType).data[0];
const batch = new RecordBatch(schema, makeData({
  type: new Struct(schema.fields), length: n, nullCount: 0, children: [input, label, split],
}));
const table = new Table(schema, [batch]);

writeFileSync(join(outDir, 'js_patterns.arrow'), tableToIPC(table, 'file'));
writeFileSync(join(outDir, 'js_patterns.arrows'), tableToIPC(table, 'stream'));

compressionRegistry.set(CompressionType.LZ4_FRAME, {
  encode: (data) => lz4.compress(data),
  decode: (data) => lz4.decompress(data),
});
writeFileSync(join(outDir, 'js_patterns_lz4.arrow'), tableToIPC(table, 'file', CompressionType.LZ4_FRAME));

writeFileSync(join(outDir, 'js_patterns_expected.json'),
  JSON.stringify({ shape: [1, 4, 4], inputs: Array.from(x), labels: Array.from(labels), splits }) + '\n');
console.log('wrote', outDir, 'js_patterns.arrow, js_patterns_lz4.arrow, js_patterns.arrows');
