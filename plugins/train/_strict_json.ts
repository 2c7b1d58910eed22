/**
 * The strict JSON parser of safetensors headers (private to plugins/train: used by
 * `parseHeader` in `safetensors_header.ts`). It rejects what RFC 8259 does not allow, lone
 * surrogate escapes, duplicate keys and nesting past 64 levels, and keeps number literals that
 * are not integers apart so the header checks can reject them.
 *
 * @module
 */

/** A JSON number literal with a fraction or an exponent (never valid in a safetensors header). */
class NonInteger {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

export class JsonError extends Error {}

const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 64;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * A strict JSON parser for headers: objects become `Map`s (so duplicate keys are detected and a key
 * such as `__proto__` is an ordinary key), integer literals numbers, other number literals
 * {@linkcode NonInteger}s. Throws a `JsonError` for anything RFC 8259 does not allow, for lone
 * surrogate escapes and for duplicate keys.
 */
export function parseStrictJson(s: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonError(`${what} at character ${i}`);
  };
  const ws = () => {
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
  };
  const hex4 = (): number => {
    const h = s.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("invalid \\u escape");
    i += 4;
    return parseInt(h, 16);
  };
  const str = (): string => {
    i++; // opening quote
    let out = "", from = i;
    for (;;) {
      if (i >= s.length) fail("unterminated string");
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(from, i++);
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(from, i);
      const e = s[i + 1];
      i += 2;
      if (e !== undefined && Object.hasOwn(ESCAPES, e)) out += ESCAPES[e];
      else if (e === "u") {
        const u = hex4();
        if (u >= 0xdc00 && u <= 0xdfff) fail("lone low surrogate escape");
        if (u >= 0xd800 && u <= 0xdbff) {
          if (s[i] !== "\\" || s[i + 1] !== "u") fail("lone high surrogate escape");
          i += 2;
          const lo = hex4();
          if (lo < 0xdc00 || lo > 0xdfff) fail("lone high surrogate escape");
          out += String.fromCharCode(u, lo);
        } else out += String.fromCharCode(u);
      } else fail("invalid escape");
      from = i;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    ws();
    const c = s[i];
    if (c === "{") {
      i++;
      const map = new Map<string, unknown>();
      ws();
      if (s[i] === "}") {
        i++;
        return map;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail("expected a string key");
        const at = i;
        const k = str();
        if (map.has(k)) {
          i = at;
          fail(`duplicate key ${JSON.stringify(k)}`);
        }
        ws();
        if (s[i] !== ":") fail('expected ":"');
        i++;
        map.set(k, value(depth + 1));
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "}") {
          i++;
          return map;
        } else fail('expected "," or "}"');
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (s[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "]") {
          i++;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) {
      JSON_NUMBER.lastIndex = i;
      const m = JSON_NUMBER.exec(s);
      if (!m) return fail("invalid number");
      i += m[0].length;
      return m[1] !== undefined || m[2] !== undefined ? new NonInteger(m[0]) : Number(m[0]);
    }
    for (const [lit, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (s.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail(c === undefined ? "unexpected end" : `unexpected character ${JSON.stringify(c)}`);
  };
  const v = value(0);
  ws();
  if (i !== s.length) fail("unexpected data after the JSON value");
  return v;
}
