// Score rows with a plec model using onnxruntime-node (no plec installed).
//
//   node plec_predict.js MODEL.onnx [INPUTS.json] [--json]
//
// The feature signature is JSON in the model's metadata (key `plec.signature`). onnxruntime-node does not expose
// custom metadata, so it is read from the file: ModelProto field 14 (metadata_props) holds StringStringEntryProto
// messages (key = 1, value = 2). INPUTS.json and the --json output use the same format as the Python example:
// {"inputs": {NAME: {"shape": [...], "values": [...]}}}, null for a missing float (NaN).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const SIGNATURE_KEY = 'plec.signature';
const GRAPH_KEY = 'plec.graph_sha256';
const EXTERNAL_KEY = 'plec.external_data_sha256';
const EXTERNAL_NAME_KEY = 'plec.external_data';

// Minimal protobuf reading: varints and length-delimited fields are all ModelProto's top level needs.
function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

// Calls visit(fieldNumber, bytes) for each length-delimited field of one message; skips the others.
function eachField(buf, visit) {
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (end > buf.length) throw new Error('truncated field: not an intact ONNX model');
      visit(field, buf.subarray(pos, end));
      pos = end;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

function metadataProps(modelBytes) {
  const props = {};
  eachField(modelBytes, (field, bytes) => {
    if (field !== 14) return;
    let key = '';
    let value = '';
    eachField(bytes, (f, b) => {
      if (f === 1) key = b.toString('utf8');
      if (f === 2) value = b.toString('utf8');
    });
    props[key] = value;
  });
  return props;
}

// The check a service does once at start-up: the graph (ModelProto field 7) and the external data file have the
// sha256 that `plec compile` recorded, so no damaged copy of the model scores.
function checkIntegrity(modelPath, bytes, props) {
  let graph = null;
  eachField(bytes, (field, b) => {
    if (field === 7) graph = b;
  });
  const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
  if (graph === null || sha256(graph) !== props[GRAPH_KEY]) {
    throw new Error(`${modelPath}: the graph differs from ${GRAPH_KEY}: the file is damaged; copy or compile it again`);
  }
  if (EXTERNAL_KEY in props) {
    const external = path.join(path.dirname(modelPath), props[EXTERNAL_NAME_KEY] || '');
    if (sha256(fs.readFileSync(external)) !== props[EXTERNAL_KEY]) {
      throw new Error(`${external}: differs from ${EXTERNAL_KEY}: the file is damaged; copy it again`);
    }
  }
}

function exampleValue(spec) {
  const t = spec.transform || {};
  // A sequence input: two typical positions joined by its delimiter.
  if (spec.sequence) {
    const element = exampleValue({ ...spec, dtype: spec.sequence.element, sequence: null });
    return [element, element].map(String).join(spec.sequence.delimiter);
  }
  if (spec.dtype === 'int64') return (spec.valid_range || [0, 1])[0];
  if (spec.dtype === 'string') {
    if (t.vocab_list && t.vocab_list.length) return t.vocab_list[0];
    if (t.vocab_dict && t.vocab_dict.length) return t.vocab_dict[0][0];
    return 'example';
  }
  return (t.boundaries || [0.5])[0];
}

// Two rows: typical values, then every value missing.
function exampleInputs(signature) {
  const inputs = {};
  for (const spec of signature.inputs) {
    const multi = spec.shape.length > 1;
    const width = !multi ? 1 : Number.isInteger(spec.shape[1]) ? spec.shape[1] : 2;
    const missing = spec.dtype === 'float' ? null : spec.missing;
    const values = [...Array(width).fill(exampleValue(spec)), ...Array(width).fill(missing)];
    inputs[spec.name] = { shape: multi ? [2, width] : [2], values };
  }
  return inputs;
}

function tensor(spec, given) {
  const values = given.values;
  switch (spec.dtype) {
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), given.shape);
    case 'float':
      return new ort.Tensor('float32', Float32Array.from(values.map((v) => (v === null ? NaN : v))), given.shape);
    case 'string':
      return new ort.Tensor('string', values.map(String), given.shape);
    default:
      throw new Error(`input ${spec.name}: unknown dtype ${spec.dtype}`);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const asJson = args.includes('--json');
  const [modelPath, inputsPath] = args.filter((a) => !a.startsWith('--'));
  if (!modelPath) {
    console.error('usage: node plec_predict.js MODEL.onnx [INPUTS.json] [--json]');
    process.exit(2);
  }
  const bytes = fs.readFileSync(modelPath);
  const props = metadataProps(bytes);
  if (!(SIGNATURE_KEY in props)) throw new Error(`${modelPath}: no ${SIGNATURE_KEY} metadata: not a plec model`);
  checkIntegrity(modelPath, bytes, props);
  const signature = JSON.parse(props[SIGNATURE_KEY]);

  const given = inputsPath ? JSON.parse(fs.readFileSync(inputsPath, 'utf8')).inputs : exampleInputs(signature);
  const feeds = {};
  for (const spec of signature.inputs) {
    if (!(spec.name in given)) throw new Error(`missing input ${spec.name}`);
    feeds[spec.name] = tensor(spec, given[spec.name]);
  }
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const results = await session.run(feeds);

  const names = signature.outputs.map((o) => o.name);
  if (asJson) {
    const outputs = {};
    for (const name of names) {
      const r = results[name];
      outputs[name] = { shape: r.dims, values: Array.from(r.data, (v) => (Number.isNaN(v) ? null : v)) };
    }
    console.log(JSON.stringify({ outputs }));
    return;
  }
  const rows = results[names[0]].dims[0];
  for (let row = 0; row < rows; row++) {
    const parts = names.map((name) => {
      const r = results[name];
      const width = r.dims.slice(1).reduce((a, b) => a * b, 1);
      const values = Array.from(r.data.slice(row * width, (row + 1) * width), (v) => v.toPrecision(6));
      return `${name}=${width === 1 ? values[0] : `[${values.join(' ')}]`}`;
    });
    console.log(`row ${row}: ${parts.join(', ')}`);
  }
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
