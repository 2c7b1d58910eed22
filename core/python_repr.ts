/**
 * Numbers and tuples as Python writes them, which is how PyTorch prints tensors and modules:
 * `"{:.Nf}"` and `"{:.Ne}"` formatting with Python's round-half-even on the exact binary value
 * (JavaScript's `toFixed` rounds ties away from zero), `repr(float)`, and tuples (`(3,)`).
 * format.ts builds tensor printing on these; {@linkcode reprFloat} and {@linkcode reprTuple} are
 * public through it.
 *
 * @module
 */

const f64 = new DataView(new ArrayBuffer(8));

// round-half-even(|x| · 10^k), exactly: |x| = m · 2^e with integer m, as Python's formatting does
// (JavaScript's toFixed rounds exact ties away from zero: 0.15625 → "0.1563", Python "0.1562").
function scaledRound(x: number, k: number): bigint {
  f64.setFloat64(0, Math.abs(x));
  const hi = f64.getUint32(0), lo = f64.getUint32(4);
  const biased = hi >>> 20;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) m |= 1n << 52n;
  const e = biased === 0 ? -1074 : biased - 1075;
  let num = m, den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  const q = num / den, r2 = (num % den) * 2n;
  return r2 > den || (r2 === den && (q & 1n) === 1n) ? q + 1n : q;
}

const negative = (x: number): boolean => x < 0 || Object.is(x, -0);

function nonFinite(x: number): string {
  return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

// Whether |x|·10^k may lie exactly halfway between two integers, the one case where JavaScript's
// toFixed/toExponential (away from zero) and Python (to even) round differently: with |x| = m·2^-q,
// m odd, that is q = k + 1. For k < 0 any integer is treated as a candidate.
function halfway(a: number, k: number): boolean {
  if (k < 0) return Number.isInteger(a);
  const s = a * 2 ** (k + 1);
  return Number.isInteger(s) && s % 2 === 1;
}

/** Python's `"{:.Nf}".format(x)`. */
export function fixed(x: number, p: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  const a = Math.abs(x), sign = negative(x) ? "-" : "";
  if (a < 1e21 && p <= 100 && !halfway(a, p)) return sign + a.toFixed(p);
  const d = scaledRound(x, p).toString().padStart(p + 1, "0");
  return (negative(x) ? "-" : "") + (p === 0 ? d : `${d.slice(0, -p)}.${d.slice(-p)}`);
}

/** Python's `"{:.Ne}".format(x)`. */
export function exponential(x: number, p: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  const a = Math.abs(x);
  if (p <= 100) {
    const s = a.toExponential(p), at = s.indexOf("e"), e = Number(s.slice(at + 1));
    if (!halfway(a, p - e) && !halfway(a, p - e + 1)) {
      return `${negative(x) ? "-" : ""}${s.slice(0, at)}e${e < 0 ? "-" : "+"}${
        String(Math.abs(e)).padStart(2, "0")
      }`;
    }
  }
  let e = 0, q = 0n;
  if (x !== 0) {
    const lo = 10n ** BigInt(p), hi = lo * 10n;
    e = Math.floor(Math.log10(Math.abs(x)));
    for (;;) {
      q = scaledRound(x, p - e);
      if (q >= hi) e++;
      else if (q < lo) e--;
      else break;
    }
  }
  const d = q.toString().padEnd(p + 1, "0");
  const mantissa = p === 0 ? d : `${d[0]}.${d.slice(1)}`;
  return `${negative(x) ? "-" : ""}${mantissa}e${e < 0 ? "-" : "+"}${
    String(Math.abs(e)).padStart(2, "0")
  }`;
}

/**
 * A number as Python's `repr(float)` writes it (`1e-05`, `0.0001`, `1.0`, `0.75`): how PyTorch's
 * module reprs show float options such as `eps` and `momentum`, for {@linkcode Module.extraRepr}.
 *
 * @example
 * ```ts
 * import { reprFloat } from "./format.ts";
 * console.log(reprFloat(1e-5), reprFloat(1), reprFloat(0.1)); // 1e-05 1.0 0.1
 * ```
 */
export function reprFloat(x: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const e = Number(exp), digits = mantissa.replace(".", "");
  const sign = x < 0 ? "-" : "";
  if (e < -4 || e >= 16) {
    return `${sign}${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  return `${sign}${digits.slice(0, e + 1).padEnd(e + 1, "0")}.${digits.slice(e + 1) || "0"}`;
}

/**
 * A tuple as Python writes it (`(5, 5)`, `(3,)`), with null for None: how PyTorch's reprs show
 * sizes, for {@linkcode Module.extraRepr}.
 *
 * @example
 * ```ts
 * import { reprTuple } from "./format.ts";
 * console.log(reprTuple([5, 5]), reprTuple([3]), reprTuple([null, 7])); // (5, 5) (3,) (null, 7)
 * ```
 */
export function reprTuple(items: readonly (number | null)[]): string {
  return `(${items.map((v) => (v === null ? "null" : String(v))).join(", ")}${
    items.length === 1 ? "," : ""
  })`;
}
