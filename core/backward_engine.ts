/**
 * The backward engine: {@linkcode runBackward} seeds the roots' gradients and sweeps the graph of
 * {@linkcode Node}s once in reverse topological order (Kahn's algorithm, no recursion), summing
 * gradients where a tensor feeds several consumers and accumulating them into the leaves' `.grad`
 * (or returning those of the requested inputs). Also the checks of a backward's seed gradient and
 * of views made stale by an in-place op. The tape it walks and `backward()` are in autograd.ts.
 *
 * @module
 */

import { AutogradError, DispatchError, ShapeError } from "./errors.ts";
import { sameShape, shapeStr } from "./shape.ts";
import type { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";
import { onesLike, zeros } from "./creation.ts";
import { withGradSync } from "./grad_mode.ts";
import type { BackwardOptions, GradEdge, Node } from "./autograd.ts";

/**
 * A view whose base was changed in place after the view was made, while gradients were recorded:
 * the view's values follow the base, but its history does not, so a gradient through it would be
 * wrong. PyTorch regenerates the view's history; denn refuses with the way out.
 */
export function staleView(t: Tensor, where: string): never {
  throw new AutogradError(
    `${where}: a ${shapeStr(t.shape)} view of a ${shapeStr(t.base!.shape)} tensor is used ` +
      `after an in-place op changed that tensor while recording gradients, so its gradient ` +
      `would be wrong; take the view again after the in-place op, or clone() it before`,
  );
}

/** Options of {@linkcode runBackward}: those of backward plus the tensors to differentiate. */
export interface RunBackwardOptions extends BackwardOptions {
  /**
   * Return the gradients of these tensors (leaves or intermediates) instead of accumulating into
   * the leaves' `.grad`; only the part of the graph that leads to them runs.
   */
  inputs?: readonly Tensor[];
}

/**
 * Checks or creates the gradient that seeds backward at `root`: ones for a one-element root, else
 * `gradient`, which must have the root's shape. `op` names the caller in errors.
 */
export function seedGradient(op: string, root: Tensor, gradient?: Tensor | null): Tensor {
  if (!gradient) {
    if (root.numel() !== 1) {
      throw new ShapeError(
        `${op}: grad can be implicitly created only for scalar outputs, got shape ${
          shapeStr(root.shape)
        }; pass a gradient tensor of that shape`,
      );
    }
    return onesLike(root);
  }
  if (!sameShape(gradient.shape, root.shape)) {
    throw new ShapeError(
      `${op}: gradient shape ${shapeStr(gradient.shape)} does not match the tensor's ${
        shapeStr(root.shape)
      }`,
    );
  }
  return gradient;
}

/**
 * The backward engine behind {@linkcode backward} and `autograd.grad`: seeds each root with its
 * gradient and sweeps the graph once in reverse topological order. Without `options.inputs` it
 * accumulates into the leaves' `.grad` and returns `[]`; with them it returns each input's
 * gradient (null where none arrived) and touches no `.grad`. Roots must require grad and `seeds`
 * must match their shapes (see {@linkcode seedGradient}).
 */
export function runBackward(
  roots: readonly Tensor[],
  seeds: readonly Tensor[],
  options: RunBackwardOptions = {},
): (Tensor | null)[] {
  const create = options.createGraph === true;
  const retain = create || options.retainGraph === true;
  const targets = options.inputs ?? null;
  for (const t of roots) {
    if (t.base !== null && t.baseNode !== undefined && t.base.gradFn !== t.baseNode) {
      staleView(t, "backward");
    }
  }
  // Targets: leaves by tensor, intermediates by (node, output index).
  const leafTargets = new Set<Tensor>();
  const nodeTargets = new Map<Node, Set<number>>();
  for (const t of targets ?? []) {
    if (!t.gradFn) leafTargets.add(t);
    else {
      let s = nodeTargets.get(t.gradFn);
      if (!s) nodeTargets.set(t.gradFn, s = new Set());
      s.add(t.outputIndex);
    }
  }
  const leafGrads = new Map<Tensor, Tensor>();
  const handed = new Set<unknown>();
  // Intermediate gradients are released as soon as the sweep is done with them (unless the graph
  // is kept for createGraph), so that their memory is reused at once instead of after a GC: a
  // gradient is released when no buffer slot holds it any more, unless it was a seed, went to a
  // leaf or is returned. `slots` counts the buffer slots holding each one.
  const slots = new Map<Tensor, number>();
  const kept = new Set<Tensor>(seeds);
  const hold = (t: Tensor, d: number): void => {
    slots.set(t, (slots.get(t) ?? 0) + d);
  };
  const dropUnheld = (ts: Iterable<Tensor | null>): void => {
    if (create) return;
    for (const t of ts) {
      if (t && !kept.has(t) && !slots.get(t) && !t.requiresGrad) t.dispose();
    }
  };
  // Leaves' .grad tensors this sweep made or handed over and nothing else holds: one replaced by a
  // sum later in the sweep (a leaf used at every step of a sequence gets a gradient per step) is
  // released, unless a buffer slot still holds it. A backward hook may read a leaf's .grad and keep
  // it, so each hook's node empties the set.
  const ours = new Set<Tensor>();
  const replace = (old: Tensor): void => {
    if (ours.delete(old) && !slots.get(old) && !old.requiresGrad) old.dispose();
  };
  const toLeaf = (leaf: Tensor, g: Tensor): void => {
    if (!targets) {
      // Under createGraph the sums are part of the new graph: nothing is released.
      if (create) {
        accumulateLeaf(leaf, g, handed, null);
        kept.add(g);
        return;
      }
      if (!leaf.requiresGrad) {
        kept.add(g);
        return;
      }
      const wasKept = kept.has(g);
      const now = accumulateLeaf(leaf, g, handed, replace);
      if (now === null) {
        // Added into the .grad: the sum is ours, g the sweep's to release like any gradient.
        ours.add(leaf.grad!);
        return;
      }
      // The leaf took g (or a clone of it): g stays; the leaf's tensor is ours unless it is g and
      // something else (a seed, a hook) kept g.
      kept.add(g);
      if (now !== g || !wasKept) ours.add(now);
      return;
    }
    kept.add(g);
    if (!leafTargets.has(leaf)) return;
    const sum = leafGrads.get(leaf);
    leafGrads.set(leaf, sum ? sum.add(g) : g);
  };

  // The rules run with recording on only for createGraph (a synchronous override, not the global
  // setting, so an enclosing noGrad or enableGrad cannot override the choice).
  return withGradSync(create, () => {
    const buffers = new Map<Node, (Tensor | null)[]>();
    const starts: Node[] = [];
    for (let i = 0; i < roots.length; i++) {
      const r = roots[i], fn = r.gradFn;
      if (!fn) {
        toLeaf(r, seeds[i]);
        continue;
      }
      let buf = buffers.get(fn);
      if (!buf) {
        buffers.set(fn, buf = new Array<Tensor | null>(fn.outputCount).fill(null));
        starts.push(fn);
      }
      const b = buf[r.outputIndex];
      buf[r.outputIndex] = b ? b.add(seeds[i]) : seeds[i];
      hold(buf[r.outputIndex]!, 1);
      if (b) {
        hold(b, -1);
        dropUnheld([b]);
      }
    }
    const run = targets ? prune(starts, leafTargets, nodeTargets) : null;
    const runs = (n: Node): boolean => run === null || run.has(n);
    const deps = countDeps(starts, runs);
    const captured = new Map<Node, (Tensor | null)[]>();
    const ready: Node[] = starts.filter((n) => runs(n) && deps.get(n) === 0);
    while (ready.length) {
      const node = ready.pop()!;
      const gs = buffers.get(node)!;
      buffers.delete(node);
      if (nodeTargets.has(node)) captured.set(node, gs);
      if (nodeTargets.has(node) || node.op.keepsGradients) {
        for (const g of gs) if (g) kept.add(g);
      }
      if (node.op.keepsGradients) ours.clear();
      const needs = node.edges.map((e) =>
        e !== null && (run === null || leadsTo(e, run, leafTargets, nodeTargets))
      );
      const ctx = node.context(needs, create);
      let grads: (Tensor | null)[];
      const g0 = gs[0] ?? zeros(node.outputShape, { device: node.device, dtype: node.outputDtype });
      try {
        grads = node.op.grad!(ctx, g0, gs);
      } catch (e) {
        throw create ? notDifferentiable(node, e) : e;
      }
      if (!retain) node.release(grads);
      const replaced: Tensor[] = [];
      for (let i = 0; i < node.edges.length; i++) {
        const e = node.edges[i];
        if (!e || !needs[i]) continue;
        const g = grads[i] ?? null;
        if (g && !sameShape(g.shape, node.inputShapes[i])) {
          throw new ShapeError(
            `${node.op.name}: gradient rule returned shape ${
              shapeStr(g.shape)
            } for input ${i} of shape ` +
              `${shapeStr(node.inputShapes[i])} (a bug in the op's gradient rule)`,
          );
        }
        if ("leaf" in e) {
          if (g) toLeaf(e.leaf, g);
          continue;
        }
        let buf = buffers.get(e.node);
        if (!buf) {
          buf = new Array<Tensor | null>(e.node.outputCount).fill(null);
          buffers.set(e.node, buf);
        }
        if (g) {
          const old = buf[e.index];
          buf[e.index] = old ? old.add(g) : g;
          hold(buf[e.index]!, 1);
          if (old) {
            hold(old, -1);
            replaced.push(old);
          }
        }
        const d = deps.get(e.node)! - 1;
        deps.set(e.node, d);
        if (d === 0 && runs(e.node)) ready.push(e.node);
      }
      for (const g of gs) if (g) hold(g, -1);
      dropUnheld(new Set([...gs, g0, ...grads, ...replaced]));
    }
    if (!targets) return [];
    return targets.map((t) => {
      if (!t.gradFn) return leafGrads.get(t) ?? null;
      const gs = captured.get(t.gradFn) ?? buffers.get(t.gradFn);
      return gs?.[t.outputIndex] ?? null;
    });
  });
}

// Under createGraph, a rule that calls an op with no gradient rule (and no decomposition) on
// recorded tensors cannot be differentiated: say which rule, not only which op.
function notDifferentiable(node: Node, e: unknown): unknown {
  if (!(e instanceof DispatchError) || !e.message.includes("has no gradient rule")) return e;
  return new AutogradError(
    `${node.op.name}: its gradient rule cannot be differentiated again (createGraph), because ` +
      `it uses an op without a gradient rule: ${e.message}`,
  );
}

// Counts, for every node reachable from `starts` through nodes that run, the edges from running
// nodes that point at it.
function countDeps(starts: readonly Node[], runs: (n: Node) => boolean): Map<Node, number> {
  const deps = new Map<Node, number>();
  const stack: Node[] = [];
  for (const s of starts) {
    if (!deps.has(s)) {
      deps.set(s, 0);
      stack.push(s);
    }
  }
  while (stack.length) {
    const n = stack.pop()!;
    if (!runs(n)) continue;
    for (const e of n.edges) {
      if (e && "node" in e) {
        const d = deps.get(e.node);
        if (d === undefined) {
          deps.set(e.node, 1);
          stack.push(e.node);
        } else deps.set(e.node, d + 1);
      }
    }
  }
  return deps;
}

function leadsTo(
  e: NonNullable<GradEdge>,
  run: Set<Node>,
  leafTargets: Set<Tensor>,
  nodeTargets: Map<Node, Set<number>>,
): boolean {
  if ("leaf" in e) return leafTargets.has(e.leaf);
  return run.has(e.node) || nodeTargets.get(e.node)?.has(e.index) === true;
}

// The nodes whose rules must run for gradients to reach the targets: those with an edge to a target
// or to another such node. Decided in reverse topological order, so no recursion.
function prune(
  starts: readonly Node[],
  leafTargets: Set<Tensor>,
  nodeTargets: Map<Node, Set<number>>,
): Set<Node> {
  const deps = countDeps(starts, () => true);
  const order: Node[] = [];
  const ready = starts.filter((n) => deps.get(n) === 0);
  while (ready.length) {
    const n = ready.pop()!;
    order.push(n);
    for (const e of n.edges) {
      if (e && "node" in e) {
        const d = deps.get(e.node)! - 1;
        deps.set(e.node, d);
        if (d === 0) ready.push(e.node);
      }
    }
  }
  const run = new Set<Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    if (n.edges.some((e) => e !== null && leadsTo(e, run, leafTargets, nodeTargets))) run.add(n);
  }
  return run;
}

// A gradient tensor handed to one leaf is cloned before it is handed to another (or when it aliases
// the leaf), so in-place edits of one `.grad` (clipping) never change another. Where the leaf has a
// .grad, the sum replaces it and `replace` (if given) is told of the old one, and null is returned;
// else the leaf takes g (or its clone), which is returned. A leaf that needs no gradient returns g.
function accumulateLeaf(
  leaf: Tensor,
  g: Tensor,
  handed: Set<unknown>,
  replace: ((old: Tensor) => void) | null,
): Tensor | null {
  if (!leaf.requiresGrad) return g;
  const old = leaf.grad;
  if (old) {
    const sum = keep(old.add(g));
    leaf.grad = sum;
    if (replace) replace(old);
    return null;
  }
  const h = g.storage.handle;
  if (handed.has(h) || h === leaf.storage.handle) g = g.clone();
  handed.add(g.storage.handle);
  leaf.grad = keep(g);
  return g;
}
