/** Special points of pow shared by the cpu and webgpu tests. */

/** [base, exponent, PyTorch 1.13's result]. */
export const POW_SPECIAL: [number, number, number][] = [
  [1, NaN, 1],
  [1, Infinity, 1],
  [1, -Infinity, 1],
  [-1, Infinity, 1],
  [-1, -Infinity, 1],
  [NaN, 0, 1],
  [2, NaN, NaN],
  [NaN, 1, NaN],
  [-2, 0.5, NaN],
  [0, -1, Infinity],
  [-8, 3, -512],
];
