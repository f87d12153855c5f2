/** Typed arrays of one kind laid end to end (a single part is returned as is). */
export function concatArrays<T extends Uint8Array | Float32Array>(parts: T[]): T {
  if (parts.length === 1) return parts[0];
  const out = new (parts[0].constructor as new (n: number) => T)(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte arrays laid end to end (a single part is returned as is). */
export const concatBytes = (parts: Uint8Array[]): Uint8Array => concatArrays(parts);
