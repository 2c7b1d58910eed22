/**
 * `einsum`: Einstein summation written with other ops (no kernel). Each operand's repeated
 * subscripts become a diagonal, labels no later term needs are summed out, and operands are
 * contracted left to right as one batched matmul each (a broadcast product for integer dtypes).
 * The equation is checked first: every bad subscript, count, size or output label is a named error.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { DTypeError, ShapeError, ValueError } from "../errors.ts";
import { apply1, getOp } from "../registry.ts";
import type { OpDef } from "../registry.ts";
import { shapeStr, sizeOf } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { show } from "../args.ts";
import { eye } from "../creation.ts";
import { sum } from "./reduce.ts";
import { permute, squeeze } from "./views.ts";
import { reshape } from "./reshape.ts";
import type { MatmulAttrs } from "./linalg.ts";

// Internal labels of ellipsis dimensions, right-aligned across operands: "@0" is the outermost.
const ELL = "@";

interface Operand {
  t: Tensor;
  labels: string[];
}

interface Term {
  letters: string[];
  /** Position of "..." among the letters, or -1. */
  ellipsis: number;
}

function parseTerm(term: string, what: string, equation: string): Term {
  const letters: string[] = [];
  let ellipsis = -1;
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (c === ".") {
      if (!term.startsWith("...", i)) {
        throw new ValueError(
          `einsum: "${equation}": ${what} has a "." that is not part of an ellipsis ("...")`,
        );
      }
      if (ellipsis >= 0) {
        throw new ValueError(`einsum: "${equation}": ${what} has more than one ellipsis ("...")`);
      }
      ellipsis = letters.length;
      i += 2;
    } else if (/^[a-zA-Z]$/.test(c)) letters.push(c);
    else {
      throw new ValueError(
        `einsum: "${equation}": invalid subscript ${JSON.stringify(c)} in ${what}; ` +
          `subscripts must be letters a-z or A-Z`,
      );
    }
  }
  return { letters, ellipsis };
}

const ellLabels = (n: number, rank: number): string[] =>
  Array.from({ length: n }, (_, j) => `${ELL}${rank - n + j}`);

const labelName = (l: string): string =>
  l.startsWith(ELL) ? "an ellipsis dimension" : `subscript ${l}`;

// Repeated labels within one operand ("ii", "iij") select the diagonal: x·I summed over the copy.
function diagonals(o: Operand, index: number, equation: string): Operand {
  let { t, labels } = o;
  for (let p = 0; p < labels.length; p++) {
    for (let q = labels.length - 1; q > p; q--) {
      if (labels[q] !== labels[p]) continue;
      const n = t.shape[p];
      if (t.shape[q] !== n) {
        throw new ShapeError(
          `einsum: "${equation}": subscript ${labels[p]} is repeated in operand ${index} ` +
            `${shapeStr(t.shape)}, but its sizes differ (${n} and ${t.shape[q]})`,
        );
      }
      const maskShape = t.shape.map((_, k) => (k === p || k === q ? n : 1));
      const mask = reshape(eye(n, n, { dtype: t.dtype, device: t.device }), maskShape);
      t = sum(t.mul(mask), q);
      labels = labels.filter((_, k) => k !== q);
    }
  }
  return { t, labels };
}

function sumOut(o: Operand, keep: ReadonlySet<string>): Operand {
  const dims = o.labels.flatMap((l, k) => (keep.has(l) ? [] : [k]));
  if (!dims.length) return o;
  return { t: sum(o.t, dims), labels: o.labels.filter((l) => keep.has(l)) };
}

function permuteTo(o: Operand, order: readonly string[]): Tensor {
  const perm = order.map((l) => o.labels.indexOf(l));
  return perm.every((p, i) => p === i) ? o.t : permute(o.t, perm);
}

// Whether `first` labels come before `second` ones in `labels` (then a matmul operand reads
// [.., first, second] without a transposed copy).
function comesFirst(labels: readonly string[], first: string[], second: string[]): boolean {
  if (!first.length || !second.length) return true;
  return labels.indexOf(first[0]) < labels.indexOf(second[0]);
}

function contract(
  a: Operand,
  b: Operand,
  keep: ReadonlySet<string>,
  sizes: ReadonlyMap<string, number>,
): Operand {
  const inA = new Set(a.labels), inB = new Set(b.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const red = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const aOnly = a.labels.filter((l) => !inB.has(l));
  const bOnly = b.labels.filter((l) => !inA.has(l));
  const size = (ls: string[]) => sizeOf(ls.map((l) => sizes.get(l)!));
  const labels = [...batch, ...aOnly, ...bOnly];
  const outShape = labels.map((l) => sizes.get(l)!);
  if (!isFloating(a.t.dtype)) {
    // matmul is for floats: integers multiply with broadcasting, then sum the contracted labels.
    const all = [...labels, ...red];
    const spread = (o: Operand) =>
      reshape(
        permuteTo(o, all.filter((l) => o.labels.includes(l))),
        all.map((l) => (o.labels.includes(l) ? sizes.get(l)! : 1)),
      );
    let t = spread(a).mul(spread(b));
    if (red.length) t = sum(t, red.map((_, k) => labels.length + k));
    return { t, labels };
  }
  const lead = batch.length ? [size(batch)] : [];
  const transA = !comesFirst(a.labels, aOnly, red);
  const transB = !comesFirst(b.labels, red, bOnly);
  const [a0, a1] = transA ? [red, aOnly] : [aOnly, red];
  const [b0, b1] = transB ? [bOnly, red] : [red, bOnly];
  const A = reshape(permuteTo(a, [...batch, ...a0, ...a1]), [...lead, size(a0), size(a1)]);
  const B = reshape(permuteTo(b, [...batch, ...b0, ...b1]), [...lead, size(b0), size(b1)]);
  const attrs: MatmulAttrs = { transA, transB };
  const t = apply1(getOp("matmul") as OpDef<MatmulAttrs>, [A, B], attrs);
  return { t: reshape(t, outShape), labels };
}

/**
 * Einstein summation as PyTorch's `einsum`: `"bhqd,bhkd->bhqk"`, `"ij,jk->ik"`, `"i,i->"`,
 * `"ij->ji"`, `"ii->i"` (diagonal), `"ii"` (trace), `"...ij,...jk->...ik"` (ellipsis, broadcast)
 * and the implicit form without `->` (output: the ellipsis, then the subscripts used once, in
 * alphabetical order). Subscripts are letters; spaces are ignored; sizes of a subscript must agree
 * or be 1 (broadcast). Operands come as arguments or as one array, and must share a dtype (float or
 * int32). Differentiable: it is written with permute, reshape, matmul, mul and sum.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { einsum, randn } from "../mod.ts";
 * const q = randn([2, 4, 5, 8]), k = randn([2, 4, 6, 8]);
 * const scores = einsum("bhqd,bhkd->bhqk", q, k); // [2, 4, 5, 6]
 * const trace = einsum("ii", randn([3, 3])); // 0-d
 * ```
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  if (typeof equation !== "string") {
    throw new ValueError(
      `einsum: the equation must be a string like "ij,jk->ik", got ${show(equation)}`,
    );
  }
  const list =
    (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as unknown[];
  if (!list.length) throw new ValueError(`einsum: "${equation}": no operands were given`);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`einsum: operand ${i} must be a Tensor, got ${show(t)}`);
    }
  });
  const ts = list as Tensor[];
  const dtype = ts[0].dtype;
  for (const t of ts) {
    if (t.dtype === "bool") {
      throw new DTypeError(
        `einsum: bool operands are not supported; cast them to int32 or float32`,
      );
    }
    if (t.dtype !== dtype) {
      throw new DTypeError(
        `einsum: "${equation}": operands must share a dtype, got ${
          ts.map((t) => t.dtype).join(", ")
        }`,
      );
    }
  }
  const eq = equation.replace(/\s+/g, "");
  const arrow = eq.indexOf("->");
  if (arrow >= 0 && eq.indexOf("->", arrow + 1) >= 0) {
    throw new ValueError(`einsum: "${equation}" has more than one "->"`);
  }
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(",");
  if (terms.length !== ts.length) {
    throw new ValueError(
      `einsum: "${equation}" has subscripts for ${terms.length} operand(s), but ${ts.length} ` +
        `${ts.length === 1 ? "was" : "were"} given`,
    );
  }
  const parsed = terms.map((s, i) => parseTerm(s, `operand ${i}`, equation));
  // Ellipsis ranks, and each operand's labels with its ellipsis dims named.
  let rank = 0;
  parsed.forEach((p, i) => {
    const e = ts[i].ndim - p.letters.length;
    if (p.ellipsis < 0 ? e !== 0 : e < 0) {
      throw new ShapeError(
        `einsum: "${equation}": operand ${i} has ${ts[i].ndim} dimension(s) ${
          shapeStr(ts[i].shape)
        }, but its subscripts "${terms[i]}" name ${p.letters.length}` +
          (p.ellipsis < 0 ? " (and there is no ellipsis)" : ""),
      );
    }
    if (p.ellipsis >= 0) rank = Math.max(rank, e);
  });
  let ops: Operand[] = parsed.map((p, i) => {
    const labels = [...p.letters];
    if (p.ellipsis >= 0) {
      labels.splice(p.ellipsis, 0, ...ellLabels(ts[i].ndim - p.letters.length, rank));
    }
    return { t: ts[i], labels };
  });
  // Output labels.
  let out: string[];
  if (arrow >= 0) {
    const p = parseTerm(eq.slice(arrow + 2), "the output", equation);
    const seen = new Set<string>();
    for (const l of p.letters) {
      if (seen.has(l)) {
        throw new ValueError(`einsum: "${equation}": output subscript ${l} appears more than once`);
      }
      seen.add(l);
      if (!parsed.some((q) => q.letters.includes(l))) {
        throw new ValueError(
          `einsum: "${equation}": output subscript ${l} does not appear in any operand`,
        );
      }
    }
    out = [...p.letters];
    if (p.ellipsis >= 0) out.splice(p.ellipsis, 0, ...ellLabels(rank, rank));
  } else {
    const count = new Map<string, number>();
    for (const q of parsed) for (const l of q.letters) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, n]) => n === 1).map(([l]) => l).sort();
    out = [...ellLabels(parsed.some((q) => q.ellipsis >= 0) ? rank : 0, rank), ...once];
  }
  ops = ops.map((o, i) => diagonals(o, i, equation));
  // Sizes: equal, or 1 (broadcast); a broadcast dim is squeezed out of its operand.
  const sizes = new Map<string, number>();
  ops.forEach((o, i) =>
    o.labels.forEach((l, k) => {
      const s = o.t.shape[k], seen = sizes.get(l);
      if (seen === undefined || seen === 1) sizes.set(l, s);
      else if (s !== seen && s !== 1) {
        throw new ShapeError(
          `einsum: "${equation}": ${labelName(l)} has size ${s} in operand ${i} ` +
            `${shapeStr(o.t.shape)}, which does not broadcast with size ${seen} seen before`,
        );
      }
    })
  );
  ops = ops.map((o) => {
    let { t, labels } = o;
    for (let k = labels.length - 1; k >= 0; k--) {
      if (t.shape[k] === 1 && sizes.get(labels[k])! > 1) {
        t = squeeze(t, k);
        labels = labels.filter((_, j) => j !== k);
      }
    }
    return { t, labels };
  });
  const outSet = new Set(out);
  let cur = ops[0];
  for (let i = 1; i < ops.length; i++) {
    const keep = new Set(out);
    for (let j = i + 1; j < ops.length; j++) for (const l of ops[j].labels) keep.add(l);
    cur = sumOut(cur, new Set([...keep, ...ops[i].labels]));
    const next = sumOut(ops[i], new Set([...keep, ...cur.labels]));
    cur = contract(cur, next, keep, sizes);
  }
  // Every output label is still there: only dims of size 1 were squeezed, where another operand
  // has the label with its full size.
  return permuteTo(sumOut(cur, outSet), out);
}
