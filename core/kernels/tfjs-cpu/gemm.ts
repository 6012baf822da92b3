// A register-blocked float32 GEMM for the cpu kernels: out (M, N) += A (M, K) Bt (N, K)^T, both
// operands with k contiguous. Each output is a float64 sum of float32 products (exact in float64)
// in increasing k, added into the float32 output once per block of `kBlock` steps: with kBlock = 48
// (tfjs-backend-cpu's blockSize) this is bit for bit tfjs' cpu matMul, with kBlock >= K a single
// rounding of the full float64 sum. 4x4 outputs per inner loop (16 float64 accumulators, 8 loads
// per k): about 4x tfjs' one-dot-product-at-a-time loop on the same machine (2 vCPU EPYC: ~4.3
// against ~1.1 GFLOP/s), same results.

/**
 * out[oOff + i*N + j] += sum_k A[aOff + i*K + k] * Bt[bOff + j*K + k], k in blocks of kBlock (see above).
 * `out` holds the starting values (zeros for a plain product).
 */
export function gemmNT(
  A: Float32Array, aOff: number, Bt: Float32Array, bOff: number, out: Float32Array, oOff: number,
  M: number, N: number, K: number, kBlock: number,
): void {
  for (let k0 = 0; k0 < K; k0 += kBlock) {
    const k1 = Math.min(k0 + kBlock, K);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (let k = k0; k < k1; k++) {
          const x0 = A[a0 + k], x1 = A[a1 + k], x2 = A[a2 + k], x3 = A[a3 + k];
          let b = Bt[b0 + k];
          s00 += x0 * b; s10 += x1 * b; s20 += x2 * b; s30 += x3 * b;
          b = Bt[b1 + k];
          s01 += x0 * b; s11 += x1 * b; s21 += x2 * b; s31 += x3 * b;
          b = Bt[b2 + k];
          s02 += x0 * b; s12 += x1 * b; s22 += x2 * b; s32 += x3 * b;
          b = Bt[b3 + k];
          s03 += x0 * b; s13 += x1 * b; s23 += x2 * b; s33 += x3 * b;
        }
        let o = oOff + i * N + j;
        out[o] += s00; out[o + 1] += s01; out[o + 2] += s02; out[o + 3] += s03;
        o += N;
        out[o] += s10; out[o + 1] += s11; out[o + 2] += s12; out[o + 3] += s13;
        o += N;
        out[o] += s20; out[o + 1] += s21; out[o + 2] += s22; out[o + 3] += s23;
        o += N;
        out[o] += s30; out[o + 1] += s31; out[o + 2] += s32; out[o + 3] += s33;
      }
      for (; j < N; j++) {
        // last columns: 4 rows, one column
        const b0 = bOff + j * K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = k0; k < k1; k++) {
          const b = Bt[b0 + k];
          s0 += A[a0 + k] * b; s1 += A[a1 + k] * b; s2 += A[a2 + k] * b; s3 += A[a3 + k] * b;
        }
        const o = oOff + i * N + j;
        out[o] += s0; out[o + N] += s1; out[o + 2 * N] += s2; out[o + 3 * N] += s3;
      }
    }
    for (; i < M; i++) {
      // last rows: one row, 4 columns at a time
      const a0 = aOff + i * K;
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = k0; k < k1; k++) {
          const x = A[a0 + k];
          s0 += x * Bt[b0 + k]; s1 += x * Bt[b1 + k]; s2 += x * Bt[b2 + k]; s3 += x * Bt[b3 + k];
        }
        const o = oOff + i * N + j;
        out[o] += s0; out[o + 1] += s1; out[o + 2] += s2; out[o + 3] += s3;
      }
      for (; j < N; j++) {
        const b0 = bOff + j * K;
        let s = 0;
        for (let k = k0; k < k1; k++) s += A[a0 + k] * Bt[b0 + k];
        out[oOff + i * N + j] += s;
      }
    }
  }
}

/**
 * out[oOff + i*N + j] = the float32 running sum of A[i, k] * Bt[j, k] over k in order, rounded to
 * float32 after every addition: tfjs' cpu conv2d, whose output buffer (float32) takes one product at
 * a time. Same 4x4 blocking as gemmNT, a Math.fround per accumulation.
 */
export function gemmNTRounded(
  A: Float32Array, aOff: number, Bt: Float32Array, bOff: number, out: Float32Array, oOff: number,
  M: number, N: number, K: number,
): void {
  const f = Math.fround;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k], x1 = A[a1 + k], x2 = A[a2 + k], x3 = A[a3 + k];
        let b = Bt[b0 + k];
        s00 = f(s00 + x0 * b); s10 = f(s10 + x1 * b); s20 = f(s20 + x2 * b); s30 = f(s30 + x3 * b);
        b = Bt[b1 + k];
        s01 = f(s01 + x0 * b); s11 = f(s11 + x1 * b); s21 = f(s21 + x2 * b); s31 = f(s31 + x3 * b);
        b = Bt[b2 + k];
        s02 = f(s02 + x0 * b); s12 = f(s12 + x1 * b); s22 = f(s22 + x2 * b); s32 = f(s32 + x3 * b);
        b = Bt[b3 + k];
        s03 = f(s03 + x0 * b); s13 = f(s13 + x1 * b); s23 = f(s23 + x2 * b); s33 = f(s33 + x3 * b);
      }
      let o = oOff + i * N + j;
      out[o] = s00; out[o + 1] = s01; out[o + 2] = s02; out[o + 3] = s03;
      o += N;
      out[o] = s10; out[o + 1] = s11; out[o + 2] = s12; out[o + 3] = s13;
      o += N;
      out[o] = s20; out[o + 1] = s21; out[o + 2] = s22; out[o + 3] = s23;
      o += N;
      out[o] = s30; out[o + 1] = s31; out[o + 2] = s32; out[o + 3] = s33;
    }
    for (; j < N; j++) {
      const b0 = bOff + j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const b = Bt[b0 + k];
        s0 = f(s0 + A[a0 + k] * b); s1 = f(s1 + A[a1 + k] * b); s2 = f(s2 + A[a2 + k] * b); s3 = f(s3 + A[a3 + k] * b);
      }
      const o = oOff + i * N + j;
      out[o] = s0; out[o + N] = s1; out[o + 2 * N] = s2; out[o + 3 * N] = s3;
    }
  }
  for (; i < M; i++) {
    const a0 = aOff + i * K;
    for (let j = 0; j < N; j++) {
      const b0 = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s = f(s + A[a0 + k] * Bt[b0 + k]);
      out[oOff + i * N + j] = s;
    }
  }
}

/** dst[dOff + c*rows + r] = src[sOff + r*cols + c]: a (rows, cols) block transposed to (cols, rows). */
export function transposeInto(src: Float32Array, sOff: number, rows: number, cols: number, dst: Float32Array, dOff: number): void {
  // 8 source rows per sweep: each destination row gets 8 consecutive writes
  let r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    for (let c = 0; c < cols; c++) {
      const s = sOff + r0 * cols + c;
      const d = dOff + c * rows + r0;
      dst[d] = src[s]; dst[d + 1] = src[s + cols]; dst[d + 2] = src[s + 2 * cols]; dst[d + 3] = src[s + 3 * cols];
      dst[d + 4] = src[s + 4 * cols]; dst[d + 5] = src[s + 5 * cols]; dst[d + 6] = src[s + 6 * cols]; dst[d + 7] = src[s + 7 * cols];
    }
  }
  for (; r0 < rows; r0++) {
    for (let c = 0; c < cols; c++) dst[dOff + c * rows + r0] = src[sOff + r0 * cols + c];
  }
}
