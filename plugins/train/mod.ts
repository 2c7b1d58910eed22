/**
 * Training plugin: safetensors `save`/`load`, `fit` and `evaluate`, checkpoints with exact
 * resume, a TTY-aware progress line and an SVG plot of the history.
 *
 * @example
 * ```ts ignore
 * import { fit, load, save } from "./mod.ts";
 * await fit(model, { optimizer, train, validation, epochs: 3, checkpointDir: "runs/a", plot: true });
 * await save("model.safetensors", model.stateDict());
 * model.loadStateDict(await load("model.safetensors"));
 * ```
 *
 * @module
 */

export * from "./safetensors.ts";
export * from "./safetensors_header.ts";
export * from "./atomic_write.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./plot.ts";
export * from "./fit.ts";
