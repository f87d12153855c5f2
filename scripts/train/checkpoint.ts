/**
 * Checkpoint file: "LQCKPT1\n", a uint32 (LE) JSON length, the JSON (run state and a tensor table), then the
 * float32 tensors back to back. Written to `<file>.tmp`, fsynced, then renamed over `<file>`, so a crash
 * or kill mid-write leaves the previous checkpoint intact.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

const MAGIC = 'LQCKPT1\n';

export interface TensorEntry { name: string; shape: number[]; offset: number; length: number }

export interface Checkpoint<M> {
  meta: M;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function saveCheckpoint<M>(file: string, ckpt: Checkpoint<M>): void {
  const table: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of ckpt.tensors) {
    table.push({ name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length;
  }
  const header = new TextEncoder().encode(JSON.stringify({ meta: ckpt.meta, tensors: table }));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, header.length, true);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, new TextEncoder().encode(MAGIC));
    writeSync(fd, len);
    writeSync(fd, header);
    for (const t of ckpt.tensors.values()) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function loadCheckpoint<M>(file: string): Checkpoint<M> {
  if (!existsSync(file)) throw new Error(`no checkpoint at ${file}`);
  const bytes = readFileSync(file);
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new Error(`${file} is not a LocalQuant training checkpoint`);
  const len = bytes.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const { meta, tensors } = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + len))) as { meta: M; tensors: TensorEntry[] };
  const dataStart = start + len;
  // copy into an aligned buffer (the file offset of the data need not be a multiple of 4)
  const body = bytes.subarray(dataStart);
  const all = new Float32Array(new Uint8Array(body.subarray(0, body.length - (body.length % 4))).buffer);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of tensors) {
    if (t.offset + t.length > all.length) throw new Error(`${file} is truncated (tensor ${t.name})`);
    out.set(t.name, { shape: t.shape, data: all.subarray(t.offset, t.offset + t.length) });
  }
  return { meta, tensors: out };
}
