/* cod_kernel_simd.h: the vector kernels of cod_kernel.c, written once for a vector width.
 *
 * Not a public header: cod_kernel.c includes it once per instruction set, with these
 * defined first:
 *   KS(name)      the instance's name for `name` (name##_avx2, name##_avx512)
 *   KS_TARGET     the function attribute that enables the instruction set
 *   KS_V, KS_L    the fp64 vector type and its lanes (4 or 8)
 *   KS_MASK       the lane-mask type; KS_MASK_OF(rem) selects lanes 0..rem-1 (0 < rem < L)
 *   KS_LOADU, KS_STOREU, KS_MLOAD(p, m), KS_MSTORE(p, m, v), KS_ZERO(), KS_BCAST(p),
 *   KS_FMA(a, b, c) (a b + c, one rounding), KS_ADD, KS_SUB.
 * Every entry of every product is the same chain of operations at either width: the sum
 * over the inner index in order from 0, one FMA per term, on the same folded operands, and
 * (cod_idft_half) the same recombination. The blocking only decides which entries share a
 * register, so the AVX2 and AVX-512 instances give the same bits (tests/coding checks it on
 * every block and remainder path). The one scalar path, idft's last W mod 4 entries, is
 * the same code in both, at the same entries.
 */

/* v (<= 3) vectors of row t of B at entry offset e of X; with a mask (v = 1), only the
 * lanes it selects are read (the others are zero) */
KS_TARGET static GS_INLINE KS_V KS(gs_ld)(const double *p, const KS_MASK *mask) {
  return mask ? KS_MLOAD(p, *mask) : KS_LOADU(p);
}

KS_TARGET static GS_INLINE void KS(gs_load)(int sign, size_t v, size_t K, const void *Xv,
                                            size_t ldx, size_t e, size_t t,
                                            const KS_MASK *mask, KS_V *b) {
  if (sign == 2) { /* row t of B is the row the t-th pointer names */
    const double *x = ((const double *const *)Xv)[t] + e;
#pragma GCC unroll 3
    for (size_t u = 0; u < v; u++) b[u] = KS(gs_ld)(x + KS_L * u, mask);
    return;
  }
  const double *X = (const double *)Xv + e;
  if (sign == 0) {
    const double *x = X + t * ldx;
#pragma GCC unroll 3
    for (size_t u = 0; u < v; u++) b[u] = KS(gs_ld)(x + KS_L * u, mask);
  } else if (sign > 0) {
    const double *xa = X + t * ldx, *xb = X + (2 * K - 1 - t) * ldx;
    if (t == 0)
#pragma GCC unroll 3
      for (size_t u = 0; u < v; u++) b[u] = KS(gs_ld)(xa + KS_L * u, mask);
    else
#pragma GCC unroll 3
      for (size_t u = 0; u < v; u++)
        b[u] = KS_ADD(KS(gs_ld)(xa + KS_L * u, mask), KS(gs_ld)(xb + KS_L * u, mask));
  } else {
    const double *xa = X + (t + 1) * ldx, *xb = X + (2 * K - t) * ldx;
#pragma GCC unroll 3
    for (size_t u = 0; u < v; u++)
      b[u] = KS_SUB(KS(gs_ld)(xa + KS_L * u, mask), KS(gs_ld)(xb + KS_L * u, mask));
  }
}

/* rows [0, r) of C, entries [0, v L), r <= 4 and v <= 3 fixed where this is inlined; with
 * a mask (v = 1) only the entries it selects are read and written */
KS_TARGET static GS_INLINE void KS(gs_block)(int sign, size_t r, size_t v, size_t K,
                                             const double *A, size_t lda, const void *X,
                                             size_t ldx, size_t e, double *C, size_t ldc,
                                             const KS_MASK *mask) {
  KS_V c[4][3], b[3];
#pragma GCC unroll 4
  for (size_t i = 0; i < r; i++)
#pragma GCC unroll 3
    for (size_t u = 0; u < v; u++) c[i][u] = KS_ZERO();
  for (size_t t = 0; t < K; t++) {
    KS(gs_load)(sign, v, K, X, ldx, e, t, mask, b);
#pragma GCC unroll 4
    for (size_t i = 0; i < r; i++) {
      KS_V a = KS_BCAST(A + i * lda + t);
#pragma GCC unroll 3
      for (size_t u = 0; u < v; u++) c[i][u] = KS_FMA(a, b[u], c[i][u]);
    }
  }
#pragma GCC unroll 4
  for (size_t i = 0; i < r; i++)
#pragma GCC unroll 3
    for (size_t u = 0; u < v; u++) {
      if (mask) KS_MSTORE(C + i * ldc + KS_L * u, *mask, c[i][u]);
      else KS_STOREU(C + i * ldc + KS_L * u, c[i][u]);
    }
}

/* rows [0, r) of C over all W entries: 3L-entry blocks, L-entry blocks, then the last
 * 1..L-1 entries under a mask (nothing past W is read or written) */
KS_TARGET static GS_INLINE void KS(gs_rows)(int sign, size_t r, size_t K, size_t W,
                                            const double *A, size_t lda, const void *X,
                                            size_t ldx, double *C, size_t ldc) {
  size_t W3 = W - W % (3 * KS_L), W1 = W - W % KS_L;
  for (size_t e = 0; e < W3; e += 3 * KS_L)
    KS(gs_block)(sign, r, 3, K, A, lda, X, ldx, e, C + e, ldc, NULL);
  for (size_t e = W3; e < W1; e += KS_L)
    KS(gs_block)(sign, r, 1, K, A, lda, X, ldx, e, C + e, ldc, NULL);
  if (W1 < W) {
    const KS_MASK mask = KS_MASK_OF(W - W1);
    KS(gs_block)(sign, r, 1, K, A, lda, X, ldx, W1, C + W1, ldc, &mask);
  }
}

#define KS_ROWS_FN(name, sign)                                                             \
  KS_TARGET static void name(size_t M, size_t K, size_t W, const double *A, size_t lda,    \
                             const void *X, size_t ldx, double *C, size_t ldc) {           \
    size_t m = 0;                                                                          \
    for (; m + 4 <= M; m += 4)                                                             \
      KS(gs_rows)(sign, 4, K, W, A + m * lda, lda, X, ldx, C + m * ldc, ldc);              \
    switch (M - m) {                                                                       \
    case 3: KS(gs_rows)(sign, 3, K, W, A + m * lda, lda, X, ldx, C + m * ldc, ldc); break; \
    case 2: KS(gs_rows)(sign, 2, K, W, A + m * lda, lda, X, ldx, C + m * ldc, ldc); break; \
    case 1: KS(gs_rows)(sign, 1, K, W, A + m * lda, lda, X, ldx, C + m * ldc, ldc); break; \
    default: break;                                                                        \
    }                                                                                      \
  }

KS_ROWS_FN(KS(gs), 0)
KS_ROWS_FN(KS(gs_sum), 1)
KS_ROWS_FN(KS(gs_diff), -1)
KS_ROWS_FN(KS(gs_ptr), 2)
#undef KS_ROWS_FN

/* Rows s0 and s0+1 (s0 + 1 <= h) of the inverse half DFT over v L entries from e (v <= 2;
 * with a mask, v = 1 and only its lanes), with their recombined outputs; s = 0 has no sine
 * half and out[q-1] (s = 1) is not formed. */
KS_TARGET static GS_INLINE void KS(idft_pair)(size_t h, size_t v, size_t s0, const double *hc,
                                              const double *hs, const double *re,
                                              const double *im, size_t ld, double *out,
                                              size_t ldo, size_t e, const KS_MASK *mask) {
  KS_V c[2][2], sn[2][2];
#pragma GCC unroll 2
  for (size_t a = 0; a < 2; a++)
#pragma GCC unroll 2
    for (size_t u = 0; u < v; u++) c[a][u] = sn[a][u] = KS_ZERO();
  for (size_t m = 0; m < h; m++) {
    KS_V r[2], i[2];
#pragma GCC unroll 2
    for (size_t u = 0; u < v; u++)
      r[u] = KS(gs_ld)(re + m * ld + e + KS_L * u, mask),
      i[u] = KS(gs_ld)(im + m * ld + e + KS_L * u, mask);
#pragma GCC unroll 2
    for (size_t a = 0; a < 2; a++) {
      size_t s = s0 + a;
      KS_V bc = KS_BCAST(hc + s * h + m);
      KS_V bs = s ? KS_BCAST(hs + (s - 1) * h + m) : KS_ZERO();
#pragma GCC unroll 2
      for (size_t u = 0; u < v; u++)
        c[a][u] = KS_FMA(bc, r[u], c[a][u]), sn[a][u] = KS_FMA(bs, i[u], sn[a][u]);
    }
  }
#pragma GCC unroll 2
  for (size_t a = 0; a < 2; a++) {
    size_t s = s0 + a;
#pragma GCC unroll 2
    for (size_t u = 0; u < v; u++) {
      double *o = out + s * ldo + e + KS_L * u, *o2 = out + (2 * h + 1 - s) * ldo + e + KS_L * u;
      KS_V sum = KS_ADD(c[a][u], sn[a][u]), dif = KS_SUB(c[a][u], sn[a][u]);
      if (mask) KS_MSTORE(o, *mask, sum);
      else KS_STOREU(o, sum);
      if (s <= 1) continue;
      if (mask) KS_MSTORE(o2, *mask, dif);
      else KS_STOREU(o2, dif);
    }
  }
}

/* s = 0 (its sine half is zero, so out[0] = C[0]) comes out of the first pair with a zero
 * broadcast; an odd h + 1 leaves row h, done by the scalar loop on its own, and so are the
 * last W mod 4 entries of every row (at both widths, so the two give the same bits) */
KS_TARGET static void KS(idft)(size_t h, size_t W, const double *hc, const double *hs,
                               const double *re, const double *im, size_t ld, double *out,
                               size_t ldo) {
  size_t W2 = W - W % (2 * KS_L), W1 = W - W % KS_L, W4 = W - W % 4;
  size_t s2 = (h + 1) - (h + 1) % 2;
  for (size_t s0 = 0; s0 < s2; s0 += 2) {
    for (size_t e = 0; e < W2; e += 2 * KS_L)
      KS(idft_pair)(h, 2, s0, hc, hs, re, im, ld, out, ldo, e, NULL);
    for (size_t e = W2; e < W1; e += KS_L)
      KS(idft_pair)(h, 1, s0, hc, hs, re, im, ld, out, ldo, e, NULL);
    if (W1 < W4) {
      const KS_MASK mask = KS_MASK_OF(W4 - W1);
      KS(idft_pair)(h, 1, s0, hc, hs, re, im, ld, out, ldo, W1, &mask);
    }
  }
  if (W4 < W || s2 < h + 1) { /* the leftover entries of every row, and a leftover row */
    for (size_t s = 0; s <= h; s++) {
      size_t e0 = s < s2 ? W4 : 0;
      for (size_t e = e0; e < W; e++) {
        double cs = 0.0, sn = 0.0;
        for (size_t m = 0; m < h; m++) cs += hc[s * h + m] * re[m * ld + e];
        for (size_t m = 0; s && m < h; m++) sn += hs[(s - 1) * h + m] * im[m * ld + e];
        if (s == 0) out[e] = cs;
        else {
          out[s * ldo + e] = cs + sn;
          if (s > 1) out[(2 * h + 1 - s) * ldo + e] = cs - sn;
        }
      }
    }
  }
}
