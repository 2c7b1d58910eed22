/**
 * A dependency-free SVG chart of a training history: loss (left) and accuracy (right) per epoch,
 * training and validation.
 *
 * @example
 * ```ts
 * import { plotHistory } from "./plot.ts";
 * const svg = plotHistory([
 *   { epoch: 1, loss: 0.9, accuracy: 0.7, valLoss: 0.5, valAccuracy: 0.85, seconds: 1, imagesPerSecond: 1 },
 *   { epoch: 2, loss: 0.4, accuracy: 0.88, valLoss: 0.3, valAccuracy: 0.9, seconds: 1, imagesPerSecond: 1 },
 * ]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @module
 */

import type { EpochStats } from "./checkpoint.ts";
import { writeAtomic } from "./atomic_write.ts";

interface Series {
  label: string;
  color: string;
  dash: boolean;
  points: [number, number][];
}

const W = 420, H = 300, M = { l: 56, r: 16, t: 34, b: 42 };

function esc(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

function panel(
  x0: number,
  title: string,
  series: Series[],
  epochs: number,
  percent: boolean,
): string {
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (!ys.length) [lo, hi] = [0, 1];
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 0.05;
  lo -= pad;
  hi += pad;
  if (!percent) lo = Math.max(0, lo);
  const pw = W - M.l - M.r, ph = H - M.t - M.b;
  const sx = (e: number) => x0 + M.l + (epochs <= 1 ? pw / 2 : ((e - 1) / (epochs - 1)) * pw);
  const sy = (v: number) => M.t + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(
    `<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  );
  parts.push(
    `<rect x="${x0 + M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
  );
  for (const v of niceTicks(lo, hi)) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${x0 + M.l}" x2="${x0 + M.l + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    const label = percent ? `${(v * 100).toFixed(v * 100 % 1 ? 1 : 0)}%` : String(v);
    parts.push(
      `<text x="${
        x0 + M.l - 6
      }" y="${y}" text-anchor="end" dominant-baseline="middle">${label}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += step) {
    parts.push(
      `<text x="${sx(e).toFixed(1)}" y="${M.t + ph + 16}" text-anchor="middle">${e}</text>`,
    );
  }
  parts.push(`<text x="${x0 + M.l + pw / 2}" y="${H - 8}" text-anchor="middle">epoch</text>`);
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const pts = s.points.map(([e, v]) => `${sx(e).toFixed(1)},${sy(v).toFixed(1)}`).join(" ");
    const dash = s.dash ? ` stroke-dasharray="5 3"` : "";
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    for (const [e, v] of s.points) {
      parts.push(
        `<circle cx="${sx(e).toFixed(1)}" cy="${sy(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`,
      );
    }
    // Loss falls and accuracy rises, so the legend goes where the curves are not.
    const ly = percent ? M.t + ph - 12 - 14 * (series.length - 1 - i) : M.t + 12 + 14 * i;
    const lx = x0 + M.l + pw - 110;
    parts.push(
      `<line x1="${lx}" x2="${
        lx + 18
      }" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${lx + 22}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  return parts.join("\n");
}

/** Renders loss and accuracy per epoch as a standalone SVG document. */
export function plotHistory(history: readonly EpochStats[], title = "denn training"): string {
  const epochs = history.length ? history[history.length - 1].epoch : 1;
  const pick = (f: (s: EpochStats) => number | undefined): [number, number][] =>
    history.filter((s) => f(s) !== undefined && Number.isFinite(f(s)!)).map((
      s,
    ) => [s.epoch, f(s)!]);
  const loss: Series[] = [
    { label: "train", color: "#1f77b4", dash: false, points: pick((s) => s.loss) },
    { label: "validation", color: "#d62728", dash: true, points: pick((s) => s.valLoss) },
  ];
  const acc: Series[] = [
    { label: "train", color: "#1f77b4", dash: false, points: pick((s) => s.accuracy) },
    { label: "validation", color: "#d62728", dash: true, points: pick((s) => s.valAccuracy) },
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 20}" viewBox="0 0 ${
      2 * W
    } ${H + 20}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g transform="translate(0,10)">`,
    panel(0, "loss", loss, epochs, false),
    panel(W, "accuracy", acc, epochs, true),
    `</g>`,
    `</svg>`,
    "",
  ].join("\n");
}

/** Writes {@linkcode plotHistory}'s SVG to `path` atomically. */
export async function writePlot(
  path: string,
  history: readonly EpochStats[],
  title?: string,
): Promise<void> {
  await writeAtomic(path, new TextEncoder().encode(plotHistory(history, title)));
}
