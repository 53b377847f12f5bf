/** Key sequences shared by the keyed scenarios, so every contender sees the same keys in the same order. */

/** `n` key indexes in `0 .. keyCount-1` from mulberry32, a small seeded PRNG. */
export function keySequence(n: number, keyCount: number, seed: number): Uint32Array {
  const seq = new Uint32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    seq[i] = (((t ^ (t >>> 14)) >>> 0) % keyCount) >>> 0;
  }
  return seq;
}
