/**
 * `fit` and `evaluate`: the training loop users would otherwise write by hand — forward, loss,
 * backward, step per batch; validation, scheduler, callbacks, a checkpoint and a progress line per
 * epoch; an SVG plot at the end — with exact resumption from the last checkpoint.
 *
 * @example
 * ```ts ignore
 * import { fit } from "./fit.ts";
 * import { CrossEntropyLoss, SGD } from "../../mod.ts";
 * const { history } = await fit(model, {
 *   loss: new CrossEntropyLoss(),
 *   optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
 *   train: trainLoader,
 *   validation: testLoader,
 *   epochs: 5,
 *   checkpointDir: "runs/lenet",
 *   resume: true,
 *   plot: "runs/lenet/history.svg",
 * });
 * ```
 *
 * @module
 */

import { defaultGenerator, noGrad, scope, ValueError } from "../../core/mod.ts";
import { crossEntropy } from "../../losses/functional.ts";
import type { Loss, Module, Optimizer, Tensor } from "../../core/mod.ts";
import type { DataLoader } from "../data/loader.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { EpochStats } from "./checkpoint.ts";
import { writePlot } from "./plot.ts";
import { Progress } from "./progress.ts";
import type { ProgressSink } from "./progress.ts";

/** A loss module or function of (output, target). */
export type LossFn = Loss | ((input: Tensor, target: Tensor) => Tensor);

/**
 * What `fit` needs of a learning-rate scheduler (PyTorch's `LRScheduler` shape). `step()` is
 * called once per epoch; a scheduler that watches a metric (one with a numeric `patience`, like
 * `ReduceLROnPlateau`) gets the validation loss (the training loss without validation).
 */
export interface LRSchedulerLike {
  /** Advances one epoch. */
  step(metric?: number): void;
  /** Serializable state, saved in checkpoints. */
  stateDict?(): unknown;
  /** Restores `stateDict()`'s result. */
  loadStateDict?(state: never): void;
}

/** Hooks called by `fit`. */
export interface Callbacks {
  /** Before the first epoch (after resuming). */
  onTrainBegin?(info: { startEpoch: number; epochs: number }): void | Promise<void>;
  /** After each batch. */
  onBatchEnd?(info: { epoch: number; batch: number; loss: number }): void | Promise<void>;
  /** After each epoch (and its checkpoint); returning false stops training. */
  onEpochEnd?(stats: EpochStats, history: readonly EpochStats[]): unknown;
  /** After the last epoch. */
  onTrainEnd?(history: readonly EpochStats[]): void | Promise<void>;
}

/** Options of {@linkcode fit}. */
export interface FitOptions {
  /** Loss (default: cross-entropy). */
  loss?: LossFn;
  /** Optimizer over the model's parameters. */
  optimizer: Optimizer<object>;
  /** Training batches. */
  train: DataLoader;
  /** Validation batches, evaluated after each epoch. */
  validation?: DataLoader;
  /** Total number of epochs (including those done before a resume). */
  epochs: number;
  /** Learning-rate scheduler, stepped once per epoch. */
  scheduler?: LRSchedulerLike;
  /** Hooks. */
  callbacks?: Callbacks | readonly Callbacks[];
  /** Directory for a checkpoint after every epoch. */
  checkpointDir?: string;
  /** Continue from the checkpoint in `checkpointDir`, if there is one. */
  resume?: boolean;
  /** Write an SVG plot of the history at the end: a path, or true for `checkpointDir/history.svg`. */
  plot?: string | boolean;
  /** Progress output (default Deno.stderr); null or false silences it. */
  progress?: ProgressSink | null | boolean;
}

/** Result of {@linkcode fit}. */
export interface FitResult {
  /** Statistics of every epoch, including those before a resume. */
  history: EpochStats[];
  /** Epoch the run started from (0 unless resumed). */
  startEpoch: number;
  /** Path of the plot, if written. */
  plotPath?: string;
}

/** Result of {@linkcode evaluate}. */
export interface EvalResult {
  /** Mean loss per example. */
  loss: number;
  /** Fraction of correct argmax predictions (NaN when outputs are not class scores). */
  accuracy: number;
  /** Examples seen. */
  count: number;
}

function lossOf(loss: LossFn | undefined): (input: Tensor, target: Tensor) => Tensor {
  if (!loss) return (a, b) => crossEntropy(a, b);
  if (typeof loss === "function") return loss;
  return (a, b) => loss.forward(a, b);
}

function deviceOf(model: Module): string {
  return model.parameters()[0]?.device ?? "cpu";
}

function correctOf(out: Tensor, y: Tensor): Tensor | null {
  if (out.ndim !== 2 || y.ndim !== 1 || y.dtype !== "int32") return null;
  return out.argmax(1).eq(y).sum();
}

/**
 * Mean loss and accuracy of `model` over a loader, in evaluation mode without gradients.
 *
 * @example
 * ```ts ignore
 * const { loss, accuracy } = await evaluate(model, testLoader);
 * ```
 */
export async function evaluate(
  model: Module,
  loader: Iterable<{ x: Tensor; y: Tensor }>,
  options: { loss?: LossFn } = {},
): Promise<EvalResult> {
  const lossFn = lossOf(options.loss);
  const device = deviceOf(model);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0, correct = 0, count = 0, scored = true;
  try {
    for (const batch of loader) {
      const [l, c] = noGrad(() =>
        scope(() => {
          const x = batch.x.device === device ? batch.x : batch.x.to(device);
          const y = batch.y.device === device ? batch.y : batch.y.to(device);
          const out = model.forward(x);
          return [lossFn(out, y), correctOf(out, y)] as const;
        })
      );
      const b = batch.x.shape[0];
      lossSum += (await l.item()) * b;
      if (c) correct += await c.item();
      else scored = false;
      count += b;
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / count, accuracy: scored ? correct / count : NaN, count };
}

function sinkOf(p: FitOptions["progress"]): ProgressSink | null {
  if (p === false || p === null) return null;
  if (p === undefined || p === true) return Deno.stderr;
  return p;
}

/**
 * Trains `model` for `options.epochs` epochs and returns the per-epoch history. With
 * `checkpointDir`, every epoch ends with a checkpoint (model, optimizer, scheduler, history and
 * the default and loaders' RNG states); with `resume`, training continues after the last one and
 * gives the same numbers as an uninterrupted run.
 */
export async function fit(model: Module, options: FitOptions): Promise<FitResult> {
  const { optimizer, train, validation, scheduler } = options;
  if (!Number.isInteger(options.epochs) || options.epochs < 0) {
    throw new ValueError(`fit: epochs must be a non-negative integer, got ${options.epochs}`);
  }
  if (options.resume && !options.checkpointDir) {
    throw new ValueError("fit: resume needs a checkpointDir");
  }
  const callbacks = options.callbacks === undefined
    ? []
    : Array.isArray(options.callbacks)
    ? options.callbacks as Callbacks[]
    : [options.callbacks as Callbacks];
  const lossFn = lossOf(options.loss);
  const device = deviceOf(model);
  const progress = new Progress({
    epochs: options.epochs,
    batches: train.length,
    sink: sinkOf(options.progress),
  });
  let history: EpochStats[] = [];
  let startEpoch = 0;
  if (options.resume) {
    const ck = await readCheckpoint(options.checkpointDir!);
    if (ck) {
      model.loadStateDict(ck.model);
      if (ck.optimizer) optimizer.loadStateDict(ck.optimizer);
      if (scheduler?.loadStateDict && ck.scheduler !== undefined) {
        scheduler.loadStateDict(ck.scheduler as never);
      }
      if (ck.rng.default) defaultGenerator.setState(ck.rng.default);
      if (ck.rng.train) train.generator.setState(ck.rng.train);
      if (ck.rng.validation && validation) validation.generator.setState(ck.rng.validation);
      history = ck.history.slice(0, ck.epoch);
      startEpoch = ck.epoch;
      progress.note(`resuming from ${options.checkpointDir} after epoch ${ck.epoch}`);
    }
  }
  for (const cb of callbacks) await cb.onTrainBegin?.({ startEpoch, epochs: options.epochs });

  for (let epoch = startEpoch + 1; epoch <= options.epochs; epoch++) {
    model.train();
    const lr = (optimizer.paramGroups[0] as { lr?: number } | undefined)?.lr;
    let lossSum = 0, correct = 0, seen = 0, scored = true, b = 0;
    const t0 = performance.now();
    for (const batch of train) {
      const [l, c] = scope(() => {
        const x = batch.x.device === device ? batch.x : batch.x.to(device);
        const y = batch.y.device === device ? batch.y : batch.y.to(device);
        const out = model.forward(x);
        const loss = lossFn(out, y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        return [loss.detach(), noGrad(() => correctOf(out.detach(), y))] as const;
      });
      const n = batch.x.shape[0];
      const lv = await l.item();
      if (!Number.isFinite(lv)) {
        throw new ValueError(`fit: the loss became ${lv} at epoch ${epoch}, batch ${b + 1}`);
      }
      lossSum += lv * n;
      if (c) correct += await c.item();
      else scored = false;
      seen += n;
      b++;
      progress.batch(epoch, b, {
        loss: lossSum / seen,
        accuracy: scored ? correct / seen : NaN,
        seen,
        seconds: (performance.now() - t0) / 1000,
      });
      for (const cb of callbacks) await cb.onBatchEnd?.({ epoch, batch: b, loss: lv });
    }
    const seconds = (performance.now() - t0) / 1000;
    const stats: EpochStats = {
      epoch,
      loss: lossSum / seen,
      accuracy: scored ? correct / seen : NaN,
      lr,
      seconds,
      imagesPerSecond: seen / Math.max(seconds, 1e-9),
    };
    if (validation) {
      const v = await evaluate(model, validation, { loss: lossFn });
      stats.valLoss = v.loss;
      stats.valAccuracy = v.accuracy;
    }
    if (scheduler) {
      if (typeof (scheduler as { patience?: unknown }).patience === "number") {
        scheduler.step(stats.valLoss ?? stats.loss);
      } else scheduler.step();
    }
    history.push(stats);
    progress.epochEnd(stats);
    if (options.checkpointDir) {
      const rng: Record<string, ReturnType<typeof defaultGenerator.getState>> = {
        default: defaultGenerator.getState(),
        train: train.generator.getState(),
      };
      if (validation) rng.validation = validation.generator.getState();
      await writeCheckpoint(options.checkpointDir, {
        epoch,
        model: model.stateDict(),
        optimizer: optimizer.stateDict(),
        scheduler: scheduler?.stateDict?.(),
        history,
        rng,
      });
    }
    let stop = false;
    for (const cb of callbacks) if ((await cb.onEpochEnd?.(stats, history)) === false) stop = true;
    if (stop) break;
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(history);
  let plotPath: string | undefined;
  if (options.plot) {
    plotPath = typeof options.plot === "string"
      ? options.plot
      : `${options.checkpointDir ?? "."}/history.svg`;
    await writePlot(plotPath, history);
  }
  return { history, startEpoch, plotPath };
}
