/**
 * Checks on JSON values that PostgreSQL (or the JSON parser's caller) would otherwise refuse late or
 * crash on: nesting depth, size, NUL characters and unpaired UTF-16 surrogates. Iterative, so a
 * value nested 10,000 deep costs a loop, never a stack overflow.
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored: PostgreSQL refuses U+0000 in text and jsonb, and unpaired surrogates in jsonb. */
export function unstorableText(value: string): 'a NUL character' | 'an unpaired surrogate' | undefined {
  if (value.includes('\u0000')) return 'a NUL character';
  if (LONE_SURROGATE.test(value)) return 'an unpaired surrogate';
  return undefined;
}

/** The first problem of `value` as JSON within the limits, or undefined when it has none. */
export function jsonProblem(value: unknown, limits: { maxDepth: number }): string | undefined {
  // Depth-first walk with an explicit stack: [value, its depth, its path].
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [node, depth, path] = stack.pop()!;
    if (typeof node === 'string') {
      const bad = unstorableText(node);
      if (bad) return `contains ${bad} (at ${path || 'the top'})`;
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > limits.maxDepth) return `nests deeper than ${limits.maxDepth} levels`;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], depth + 1, `${path}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(node)) {
      const bad = unstorableText(key);
      if (bad) return `has a key with ${bad} (at ${path || 'the top'})`;
      stack.push([(node as Record<string, unknown>)[key], depth + 1, path ? `${path}.${key}` : key]);
    }
  }
  return undefined;
}

/**
 * The nesting depth of a JSON text (objects and arrays), read without parsing it and stopping as soon
 * as it passes `limit`. Brackets inside strings do not count.
 */
export function jsonTextDepthExceeds(text: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
