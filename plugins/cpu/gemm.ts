/**
 * Single-precision GEMM over typed arrays, row-major:
 * C[m, n] = alpha * sum_k opA(A)[m, k] * opB(B)[k, n] + beta * C[m, n].
 *
 * @module
 */

/**
 * Row-major SGEMM. `transA` means A is stored as [K, M] (lda >= M); otherwise [M, K] (lda >= K).
 * `transB` means B is stored as [N, K] (ldb >= K); otherwise [K, N] (ldb >= N). C is [M, N] (ldc >= N).
 * Offsets select the start of each matrix inside its array (for batched calls).
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        const bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        acc += av * bv;
      }
      const ci = cOff + i * ldc + j;
      c[ci] = alpha * acc + (beta === 0 ? 0 : beta * c[ci]);
    }
  }
}
