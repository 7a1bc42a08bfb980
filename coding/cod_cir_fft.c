/* cod_cir_fft.c: the structured decoder and condition number of nsctc-cir.
 *
 * The circulant-permutation embedding (CRME, Ramamoorthy & Tang, arXiv 1910.06515; as a convolution
 * code in FCDCC, arXiv 2411.01579; NSCTC-MATH section 4): the coded side is k groups of q pieces (q
 * prime), the last piece of group i minus the sum of its q-1 data pieces, and worker j's piece t is
 * sum_i U'_{i,(t+i*j) mod q}. Its result pieces, as a sequence in t, therefore obey Z_j[m] = sum_i
 * w^{m*i*j} U'_i[m] after a DFT along t (w = e^{2 pi i/q}; the DFT has the forward sign e^{-2 pi i
 * m t/q}). Bin 0 of every group is zero by construction, so decoding is: a DFT of each selected
 * worker's q pieces (for every output entry at once), solve one complex Vandermonde system in
 * the nodes w^{m*j} per frequency m = 1..floor(q/2) (the others are complex conjugates: the data
 * are real), inverse DFT, and drop the parity piece s = q-1. When the filters are coded, the
 * groups past the first g that reach y hold only KCCP's zero filters, exactly zero results, so
 * each frequency's system has only g unknowns: a tall k x g Vandermonde, of which g rows (hence
 * g workers' bins) are chosen per frequency by LU with partial pivoting. These square systems
 * are far better conditioned than the k x k one (cond <= 53 against 1.2e4 on AlexNet conv3 at
 * n = 20, 1 x 16: worst decoding error 5.7e-15 instead of 4e-12 over all 4845 straggler sets),
 * and each worker transforms only the bins whose system uses it (9 of 16 per bin there). Input
 * coding keeps all k unknowns (APCP's slabs past the output still read real input rows). The
 * inverses are formed once per worker set and applied to all output entries of a chunk as one
 * real product per frequency on split planes ([[Re, -Im], [Im, Re]], as nsctc-rot does), the
 * selected workers' rows read in place through row pointers (cod_gemm_small_rows); only the g
 * rows of each inverse that reach the output are formed. The length-q transforms are matrix
 * products too, not FFTs: for odd q the half-size cos and sin matrices (h x (h+1) and h x h,
 * h = (q-1)/2) on the butterflies x[t] +- x[q-t], formed in registers from each worker's result
 * as the product runs (cod_gemm_small_fold), and the same halves inverse over all needed
 * groups, recombined (u[s] = C + S, u[q-s] = C - S) straight into y where a group's blocks are
 * runs of y (filter coding over whole output planes; the other layouts go through
 * cod_partition_scatter). All stages run per chunk of 48 output entries, so the planes between
 * them stay in L2 and each result is read once. q is a prime here, and FFTW runs a small prime
 * length as an O(q^2) generic loop per entry, below GEMM speed; the matrices do the same O(q^2)
 * work at BLAS-3 speed. Every product has an inner size of 11 to 32, where OpenBLAS's packing
 * costs as much as the arithmetic, so they go through cod_kernel.h's kernels, which read the
 * small matrix in place. Per entry that is about q^2 (u + g) flops for the transforms and 8 g u
 * per frequency for the solve (u unknowns), instead of the generic decoder's 2 k^2 q^2. q = 2
 * (a Nyquist bin) uses the full matrices and the square k x k system.
 *
 * Condition number (docs/decisions/012-cir-fft-decoder.md derives it). With the unitary
 * DFT, the recovery matrix M (kq x k(q-1): worker pieces against data pieces) is
 * M = Q * B * (I_k (x) G), Q with orthonormal columns, B = blockdiag_m V_m (V_m[j][i] =
 * w^{m i j}), G = (rows 1..q-1 of the unitary DFT) * E, E = [I; -1^T] the parity map. G is
 * not unitary (G G^H = I + phi phi^H, |phi_m| = 1), so cond(M) is not
 * max sigma_max(V_m) / min sigma_min(V_m) (it lies within a factor sqrt(q) of it). Exactly:
 * sigma(M)^2 are the eigenvalues of H = D + C C^H with D = blockdiag(V_m V_m^H) and
 * C = stack_m(phi_m V_m), a rank-k update; by Sylvester's inertia on the Schur complement,
 * the number of eigenvalues of H below lambda is
 *   N(lambda) = #{sigma_{m,r}^2 < lambda} - #neg K(lambda),
 *   K(lambda) = q I_k - lambda sum_m (lambda I - V_m^H V_m)^{-1}   (real symmetric, k x k),
 * so bisection on N gives sigma_min(M) and sigma_max(M) from the q-1 small SVDs and k x k
 * eigenvalue counts: O(q k^3) per step instead of the O(q^3 k^3) dense SVD.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "cod_alloc.h"
#include "cod_kernel.h"
#include "cod_scheme.h"

/* Output entries per pass: the forward planes (2(q/2) k x W) and the solved planes
 * (2(q/2) g x W) stay in L2 (135 KB and 76 KB on AlexNet conv3 at n = 20, 1 x 16); 24,
 * 48, 96, 172 and 512 tried there, 48 fastest after the layer's convolution (see
 * docs/decisions/012-cir-fft-decoder.md). A multiple of 12, the kernel's block width. */
#ifndef CIR_CHUNK
#define CIR_CHUNK 48
#endif

/* Frequencies kept by the real transform: 0..q/2 (bin 0 is zero and never formed). */
static size_t cir_nfreq(const cod_code *c) { return c->q / 2 + 1; }

/* Rows of a real spectrum: (Re, Im) of bins 1..q/2, in that order. */
static size_t cir_nrows(const cod_code *c) { return 2 * (c->q / 2); }

/* Groups (of q-1 data pieces) holding at least one block that reaches y: KCCP's zero
 * filters and APCP's slabs past the output are dropped, so only the first groups' rows of
 * each inverse are applied and only their inverse transforms are taken. Whether the other
 * groups are also left out of the systems is cir_unknowns'. */
static size_t cir_groups_needed(const cod_code *c) {
  const cod_partition *p = &c->part;
  size_t nreal;
  if (c->code_filters) nreal = (p->layer.n_filters + p->filt_per_group - 1) / p->filt_per_group;
  else {
    size_t ext = p->axis == COD_AXIS_ROWS ? cod_conv_out_h(&p->layer) : cod_conv_out_w(&p->layer);
    nreal = (ext + p->out_per_slab - 1) / p->out_per_slab;
  }
  size_t g = (nreal + c->q - 2) / (c->q - 1);
  return g < c->delta ? g : c->delta;
}

/* Unknowns per frequency of the systems the decoder solves. Filter coding: KCCP's zero
 * filters make every group past the g-th exactly zero (a zero filter's output is 0 on any
 * input), so the systems have only g unknowns and any g of the k selected workers
 * determine them. Input coding: APCP's slabs past the output still read real input rows
 * (their output rows are only dropped), so they are unknowns like the others: k. */
static size_t cir_unknowns(const cod_code *c) {
  return c->code_filters ? cir_groups_needed(c) : c->delta;
}

static size_t cir_plan_scratch_doubles(size_t k, size_t u, size_t h);

static size_t cir_work_doubles(const cod_code *c) {
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k, R = cir_nrows(c), W = CIR_CHUNK;
  size_t g = cir_groups_needed(c), u = cir_unknowns(c), h = q / 2;
  if (q % 2) /* cod_cir_decode's layout for odd q (pointers and indices take a double each) */
    return 2 * q                   /* the twiddles */
           + 4 * h * h + 2 * h     /* the half DFT matrices fc, fs, hc, hs */
           + R * g * W             /* solved spectra of the g groups */
           + (q - 1) * W           /* the q-1 pieces of a group that goes through the scatter */
           + 2 * h * u * W         /* forward rows: u (worker, frequency) pairs per bin */
           + h * 4 * g * u         /* embedded 2g x 2u inverses, one per frequency */
           + h * u * q             /* the workers' compact forward matrices */
           + 2 * h * u + 3 * k     /* row pointers; r, aoff, zoff */
           + cir_plan_scratch_doubles(k, u, h);
  return 2 * q                     /* the twiddles */
         + R * k * W               /* forward spectra of every worker */
         + R * k * W               /* solved spectra (at most k groups) */
         + q * k * W + W           /* output; a row */
         + R * q + (q - 1) * R     /* the real DFT matrix and its inverse */
         + nf * k2 * k2            /* embedded inverses, one per frequency */
         + 4 * k * k               /* one V_m and its inverse (interleaved complex) */
         + cod_la_complex_inverse_rows_work_doubles(k); /* the LU and its row solves */
}

size_t cod_cir_decode_work_bytes(const cod_code *c) {
  return cir_work_doubles(c) * sizeof(double);
}

double cod_cir_decode_flops(const cod_code *c) {
  double k = (double)c->delta, q = (double)c->q, L = (double)c->part.out_block_len;
  double nf = (double)(c->q / 2), R = (double)cir_nrows(c);
  double g = (double)cir_groups_needed(c), u = (double)cir_unknowns(c);
  /* per entry, odd q: the forward DFT of the u (worker, bin) pairs each bin's system uses
   * and the inverse on every needed group (the half matrices, q(q-1) flops per sequence),
   * and one 2g x 2u real product per kept bin; q = 2: the full R x q and (q-1) x R
   * matrices on all k workers and a 2g x 2k product */
  if (c->q % 2) return q * (q - 1) * (u + g) * L + nf * 2.0 * (2 * g) * (2 * u) * L;
  double tr = 2.0 * R * q * k + 2.0 * (q - 1) * R * g;
  return tr * L + nf * 2.0 * (2 * g) * (2 * k) * L;
}

/* tw[2p], tw[2p+1] = cos, sin(2 pi p/q), p < q: every angle below is one of these (the
 * exponents are reduced in integers), so q sincos calls serve the whole decode. */
static void cir_twiddles(size_t q, double *tw) {
  for (size_t p = 0; p < q; p++) {
    double a = 2.0 * M_PI * (double)p / (double)q;
    tw[2 * p] = cos(a), tw[2 * p + 1] = sin(a);
  }
}

/* V_m[j][i] = w^{m*i*ids[j]} (j < rows, i < cols), interleaved complex, row stride cols;
 * exponents reduced in integers. */
static void cir_vandermonde_tw(const cod_code *c, const size_t *ids, size_t rows, size_t cols,
                               size_t m, const double *tw, double *v) {
  size_t q = c->q;
  for (size_t j = 0; j < rows; j++) {
    size_t step = m % q * (ids[j] % q) % q, p = 0; /* entry i has exponent i * step mod q */
    for (size_t i = 0; i < cols; i++) {
      v[2 * (j * cols + i)] = tw[2 * p];
      v[2 * (j * cols + i) + 1] = tw[2 * p + 1];
      p += step;
      if (p >= q) p -= q;
    }
  }
}

/* The same from the trigonometric functions (the condition number's path). */
static void cir_vandermonde(const cod_code *c, const size_t *ids, size_t m, double *v) {
  size_t k = c->delta, q = c->q;
  for (size_t j = 0; j < k; j++)
    for (size_t i = 0; i < k; i++) {
      double t = 2.0 * M_PI * (double)((m * i % q) * ids[j] % q) / (double)q;
      v[2 * (j * k + i)] = cos(t);
      v[2 * (j * k + i) + 1] = sin(t);
    }
}

/* The real DFT matrices, angles reduced in integers. f (R x q): row 2(m-1) is
 * cos(2 pi m t/q), row 2(m-1)+1 is -sin(2 pi m t/q) (the forward sign), so f x is the
 * (Re, Im) of bins 1..q/2 of x. h ((q-1) x R): the unnormalised inverse's real form
 * with the 1/q folded in: u[s] = sum_m wgt_m (Re U[m] cos - Im U[m] sin)(2 pi m s/q) / q,
 * wgt 2 for a conjugate pair m, q-m, 1 for a Nyquist bin (q = 2: real part only, as a
 * c2r transform keeps); bin 0 is zero by construction. Only s < q-1 (the data pieces). */
static void cir_dft_matrices(size_t q, const double *tw, double *f, double *h) {
  size_t R = 2 * (q / 2);
  for (size_t m = 1; m <= q / 2; m++) {
    int nyq = 2 * m == q;
    for (size_t t = 0; t < q; t++) {
      size_t p = m * t % q;
      f[(2 * (m - 1)) * q + t] = tw[2 * p];
      f[(2 * (m - 1) + 1) * q + t] = nyq ? 0.0 : -tw[2 * p + 1];
    }
    double w = (nyq ? 1.0 : 2.0) / (double)q;
    for (size_t s = 0; s + 1 < q; s++) {
      size_t p = m * s % q;
      h[s * R + 2 * (m - 1)] = w * tw[2 * p];
      h[s * R + 2 * (m - 1) + 1] = nyq ? 0.0 : -w * tw[2 * p + 1];
    }
  }
}


/* q = 2: one chunk [e0, e0+n) as three real GEMM stages. Forward: worker j's q pieces (rows at
 * stride L): f (R x q) times the q x n slice, written to rows r*k + j of
 * zs (so each frequency's 2k rows, Re then Im of every worker, are contiguous). Solve: per
 * frequency, the 2g x 2k embedded inverse on those rows, written to rows r*g + i of us, so
 * us is one R x (g W) matrix whose column block i is group i. Inverse: h times all of us
 * at once, ys[s][i W + e]; then the scatter drops nothing (h has only the data rows). */
static void cir_chunk(const cod_code *c, size_t g, const double *const *results, size_t e0,
                      size_t n, const double *f, const double *h, const double *emb,
                      double *zs, double *us, double *ys, double *y) {
  /* the planes are n wide (n <= CIR_CHUNK): no padding columns to fill or transform */
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k, g2 = 2 * g, W = n;
  size_t L = c->part.out_block_len, R = cir_nrows(c);
  for (size_t j = 0; j < k; j++)
    cod_gemm_small(R, q, n, f, q, results[j] + e0, L, zs + j * W, k * W);
  for (size_t m = 1; m < nf; m++)
    cod_gemm_small(g2, k2, n, emb + m * g2 * k2, k2, zs + (m - 1) * k2 * W, W,
                   us + (m - 1) * g2 * W, W);
  cod_gemm_small(q - 1, R, g * W, h, R, us, g * W, ys, g * W);
  for (size_t i = 0; i < g; i++)
    for (size_t s = 0; s + 1 < q; s++)
      cod_partition_scatter(&c->part, i * (q - 1) + s, e0, n, ys + s * g * W + i * W, y);
}

/* Odd q: the half-size real DFT matrices (h = (q-1)/2, angles reduced in integers).
 * fc (h x (h+1)): cos(2 pi m t/q), t = 0..h; fs (h x h): -sin(2 pi m t/q), t = 1..h, on the
 * butterflies x[0], x[t] + x[q-t] and x[t] - x[q-t]: Re and Im of bin m. hc ((h+1) x h):
 * (2/q) cos(2 pi m s/q), s = 0..h; hs (h x h): -(2/q) sin(2 pi m s/q), s = 1..h, so that
 * u[s] = C[s] + S[s] and u[q-s] = C[s] - S[s] (bin 0 is zero, bins q-m conjugate). */
static void cir_dft_half(size_t q, const double *tw, double *fc, double *fs, double *hc,
                         double *hs) {
  size_t h = q / 2;
  for (size_t m = 1; m <= h; m++) {
    for (size_t t = 0; t <= h; t++) {
      size_t p = m * t % q;
      fc[(m - 1) * (h + 1) + t] = tw[2 * p];
      hc[t * h + (m - 1)] = 2.0 / (double)q * tw[2 * p];
      if (t == 0) continue;
      fs[(m - 1) * h + (t - 1)] = -tw[2 * p + 1];
      hs[(t - 1) * h + (m - 1)] = -2.0 / (double)q * tw[2 * p + 1];
    }
  }
}

/* Where block `blk`'s entry 0 sits in y if the whole block is one run of y (rows axis,
 * one slab covering every output row, every filter of the group real), else NULL: such
 * blocks are written by the inverse product in place, the others through
 * cod_partition_scatter. */
static double *cir_block_run(const cod_partition *p, size_t blk, double *y) {
  const size_t OH = cod_conv_out_h(&p->layer), OW = cod_conv_out_w(&p->layer);
  size_t a = blk / p->m_filt, b = blk % p->m_filt;
  if (p->axis != COD_AXIS_ROWS || a != 0 || cod_conv_out_h(&p->piece) != OH ||
      cod_conv_out_w(&p->piece) != OW || (b + 1) * p->filt_per_group > p->layer.n_filters)
    return NULL;
  return y + b * p->filt_per_group * OH * OW;
}

/* The systems of odd q, fixed for one worker set. Per kept frequency m there are u unknowns
 * (cir_unknowns: the g groups that reach y when the filters are coded, all k otherwise), so
 * the k x u Vandermonde V_m[:, 0..u) is tall when u < k and u of its rows suffice. Which u
 * is chosen per m by LU with partial pivoting on it (cod_la_complex_select_inverse_rows):
 * on AlexNet conv3 at n = 20, 1 x 16 (q = 23, u = g = 9) the chosen 9 x 9 systems have
 * cond <= 53 over every set of 16 survivors and every frequency, where the square 16 x 16
 * ones reach 1.2e4 (numpy over all 4845 sets). Worker p then transforms only the r[p]
 * frequencies whose system uses it (those rows of the half DFT matrices, at a[aoff[p]]),
 * into its own rows of the forward planes (Re rows, then Im rows, row stride CIR_CHUNK, at
 * zoff[p]), and each frequency's solve reads its 2u rows through rows (Re of its selected
 * workers, then Im). */
typedef struct cir_plan {
  size_t g, u, h;          /* groups that reach y, unknowns per system, kept bins */
  size_t *r, *aoff, *zoff; /* per worker position p < k */
  const double **rows;     /* h x 2g row pointers into the forward planes */
  double *zs;              /* the forward planes */
  double *a;               /* the workers' compact forward matrices */
  double *emb;             /* h embedded 2g x 2u inverses (g rows of a u x u inverse) */
} cir_plan;

/* Fills pl (odd q) for the worker set ids: the selections, the inverses of the chosen
 * g x g systems, the compact forward matrices from the half DFT matrices fc (h x (h+1)) and
 * fs (h x h), and the row pointers into pl->zs. scratch holds cir_plan_scratch_doubles. */
static size_t cir_plan_scratch_doubles(size_t k, size_t u, size_t h) {
  return 2 * k * u + 2 * u * u + cod_la_complex_select_inverse_rows_work_doubles(k, u) +
         2 * h * u + (k + sizeof(double) - 1) / sizeof(double);
}

static int cir_plan_fill(const cod_code *c, const size_t *ids, const double *tw,
                         const double *fc, const double *fs, double *scratch, cir_plan *pl,
                         cod_err *err) {
  size_t k = c->delta, g = pl->g, u = pl->u, h = pl->h, u2 = 2 * u, CW = CIR_CHUNK;
  double *va = scratch, *vinv = va + 2 * k * u, *luw = vinv + 2 * u * u;
  size_t *sel = (size_t *)(void *)(luw + cod_la_complex_select_inverse_rows_work_doubles(k, u));
  size_t *slot = sel + h * u;
  unsigned char *used = (unsigned char *)(slot + h * u);
  for (size_t p = 0; p < k; p++) pl->r[p] = 0, used[p] = 0;
  for (size_t m = 1; m <= h; m++) {
    size_t *sm = sel + (m - 1) * u;
    cir_vandermonde_tw(c, ids, k, u, m, tw, va);
    int rc = cod_la_complex_select_inverse_rows(va, k, u, g, used, sm, vinv, luw, err);
    if (rc) return rc;
    for (size_t st = 0; st < u; st++) slot[(m - 1) * u + st] = pl->r[sm[st]]++, used[sm[st]] = 1;
    cod_la_complex_embed(vinv, g, u, pl->emb + (m - 1) * 2 * g * u2);
  }
  size_t ao = 0, zo = 0;
  for (size_t p = 0; p < k; p++) {
    pl->aoff[p] = ao, pl->zoff[p] = zo;
    ao += pl->r[p] * (2 * h + 1), zo += 2 * pl->r[p] * CW;
  }
  for (size_t m = 1; m <= h; m++)
    for (size_t st = 0; st < u; st++) {
      size_t p = sel[(m - 1) * u + st], sl = slot[(m - 1) * u + st], r = pl->r[p];
      double *ac = pl->a + pl->aoff[p], *as = ac + r * (h + 1), *z = pl->zs + pl->zoff[p];
      memcpy(ac + sl * (h + 1), fc + (m - 1) * (h + 1), (h + 1) * sizeof *ac);
      memcpy(as + sl * h, fs + (m - 1) * h, h * sizeof *as);
      pl->rows[(m - 1) * u2 + st] = z + sl * CW;          /* Re of bin m, its cos row */
      pl->rows[(m - 1) * u2 + u + st] = z + (r + sl) * CW; /* Im of bin m, its sin row */
    }
  return COD_OK;
}

/* One chunk [e0, e0+n) for odd q. Forward: each worker's frequencies that some reduced
 * system uses, the cos and sin halves of its real DFT on the butterflies x[t] +- x[q-t],
 * formed in registers straight from the result (cod_gemm_small_fold), into its own rows.
 * Solve: per frequency the 2g x 2g embedded inverse on the 2g rows its selected workers
 * give (gathered through the row pointers, not copied), into rows r*g + i of us, one
 * R x (g n) matrix whose column block i is group i. Inverse: the cos and sin halves over
 * all groups at once into bf, recombined (u[s] = C + S, u[q-s] = C - S) straight into y
 * for groups whose blocks are runs of y (rows at stride L), through one row and the
 * scatter for the others. */
static void cir_chunk_odd(const cod_code *c, const cir_plan *pl, const double *const *results,
                          size_t e0, size_t n, const double *mats, double *us, double *bf,
                          double *y) {
  size_t k = c->delta, q = c->q, h = pl->h, g = pl->g, g2 = 2 * g, u2 = 2 * pl->u, W = n;
  size_t CW = CIR_CHUNK;
  size_t L = c->part.out_block_len, gW = g * W;
  const double *hc = mats + h * (h + 1) + h * h, *hs = hc + (h + 1) * h;
  for (size_t p = 0; p < k; p++) {
    size_t r = pl->r[p];
    if (!r) continue; /* no reduced system uses this worker: its result is not read */
    const double *ac = pl->a + pl->aoff[p];
    double *z = pl->zs + pl->zoff[p];
    /* the next chunk's entries of this worker's q result rows, fetched towards L2 while this
     * chunk computes: 23 rows of 16 workers are more streams than the hardware prefetcher
     * follows, so each chunk began with a miss per row (decision 012: 9-12% of the decode,
     * measured after the layer's convolution; towards L1 instead was slower) */
    if (e0 + n < L) {
      size_t nn = L - e0 - n < CW ? L - e0 - n : CW;
      for (size_t t = 0; t < q; t++) {
        const char *a = (const char *)(results[p] + t * L + e0 + n);
        uintptr_t line = (uintptr_t)a & ~(uintptr_t)63, end = (uintptr_t)(a + nn * sizeof(double));
        for (; line < end; line += 64) __builtin_prefetch((const void *)line, 0, 2);
      }
    }
    cod_gemm_small_fold(1, r, h + 1, n, ac, h + 1, results[p] + e0, L, z, CW);
    cod_gemm_small_fold(-1, r, h, n, ac + r * (h + 1), h, results[p] + e0, L, z + r * CW, CW);
  }
  for (size_t m = 1; m <= h; m++)
    cod_gemm_small_rows(g2, u2, n, pl->emb + (m - 1) * g2 * u2, u2, pl->rows + (m - 1) * u2,
                        us + (m - 1) * g2 * W, W);
  /* per group the inverse halves, C[s] (s = 0..h) from its Re rows and S[s] (s = 1..h) from
   * its Im rows, recombined as u[0] = C[0], u[s] = C[s] + S[s], u[q-s] = C[s] - S[s] (u[q-1],
   * the parity piece, is not formed) by cod_idft_half: straight into y where the group's
   * blocks are runs of y, else into bf's q-1 rows and scattered */
  for (size_t i = 0; i < g; i++) {
    size_t b0 = i * (q - 1);
    double *run = cir_block_run(&c->part, b0, y);
    const double *re = us + i * W, *im = us + gW + i * W;
    if (run && cir_block_run(&c->part, b0 + q - 2, y) == run + (q - 2) * L) {
      cod_idft_half(h, n, hc, hs, re, im, 2 * gW, run + e0, L);
      continue;
    }
    cod_idft_half(h, n, hc, hs, re, im, 2 * gW, bf, W);
    for (size_t s = 0; s + 1 < q; s++) {
      size_t blk = b0 + s;
      if (blk % c->part.m_filt * c->part.filt_per_group >= c->part.layer.n_filters)
        continue; /* a block of zero filters only: nothing of it reaches y */
      cod_partition_scatter(&c->part, blk, e0, n, bf + s * W, y);
    }
  }
}

int cod_cir_decode(const cod_code *c, const size_t *ids, size_t n_sel,
                   const double *const *results, double *y, double *cond, void *work,
                   cod_err *err) {
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k, W = CIR_CHUNK;
  size_t L = c->part.out_block_len, g = cir_groups_needed(c), R = cir_nrows(c);
  if (n_sel != k)
    return cod_err_set(err, COD_EINVAL, "nsctc-cir decoder: %zu results for threshold %zu",
                       n_sel, k);
  double *own = work ? NULL : cod_malloc(cod_cir_decode_work_bytes(c));
  if (!work && !own) return cod_err_set(err, COD_ENOMEM, "out of memory in the nsctc-cir decoder");
  double *base = work ? work : own, *tw = base;
  int rc = COD_OK;
  cir_twiddles(q, tw);
  if (cond && (rc = cod_cir_cond(c, ids, n_sel, cond, err))) goto done;
  if (q % 2) { /* the reduced systems (cir_plan) */
    size_t h = q / 2, u = cir_unknowns(c);
    cir_plan pl = {.g = g, .u = u, .h = h};
    double *mats = tw + 2 * q, *us = mats + 4 * h * h + 2 * h, *bf = us + R * g * W;
    pl.zs = bf + (q - 1) * W, pl.emb = pl.zs + 2 * h * u * W, pl.a = pl.emb + h * 4 * g * u;
    pl.rows = (const double **)(void *)(pl.a + h * u * q);
    pl.r = (size_t *)(void *)(pl.rows + 2 * h * u), pl.aoff = pl.r + k, pl.zoff = pl.aoff + k;
    double *scratch = (double *)(void *)(pl.zoff + k);
    double *fc = mats, *fs = fc + h * (h + 1);
    cir_dft_half(q, tw, fc, fs, fs + h * h, fs + h * h + (h + 1) * h);
    if ((rc = cir_plan_fill(c, ids, tw, fc, fs, scratch, &pl, err))) goto done;
    for (size_t e0 = 0; e0 < L; e0 += W)
      cir_chunk_odd(c, &pl, results, e0, L - e0 < W ? L - e0 : W, mats, us, bf, y);
  } else { /* q = 2, the only even prime: the full square system and matrices (a Nyquist bin) */
    double *zs = tw + 2 * q, *us = zs + R * k * W, *ys = us + R * k * W;
    double *f = ys + q * k * W + W, *h = f + R * q, *emb = h + (q - 1) * R;
    double *v = emb + nf * k2 * k2, *vinv = v + 2 * k * k, *luw = vinv + 2 * k * k;
    for (size_t m = 1; m < nf; m++) {
      cir_vandermonde_tw(c, ids, k, k, m, tw, v);
      if ((rc = cod_la_complex_inverse_rows(v, k, g, vinv, luw, err))) goto done;
      cod_la_complex_embed(vinv, g, k, emb + m * 2 * g * k2);
    }
    cir_dft_matrices(q, tw, f, h);
    for (size_t e0 = 0; e0 < L; e0 += W)
      cir_chunk(c, g, results, e0, L - e0 < W ? L - e0 : W, f, h, emb, zs, us, ys, y);
  }
done:
  cod_free(own);
  return rc;
}

/* ---- the exact condition number ------------------------------------------------------ */

typedef struct cir_spec {
  size_t k, q, nm;   /* unknowns per frequency, prime, kept frequencies 1..nm */
  double *sig2;      /* nm x 2k squared singular values of the real embedding of V_m */
  double *a;         /* nm x 2k x k: Re parts of the right singular vectors */
  double *wgt;       /* nm: 2 for a conjugate pair m, q-m; 1 for m = q/2 */
  double *kmat, *coef, *scaled, *eval; /* K(lambda) and its scratch */
  gsl_eigen_symm_workspace *ews;
} cir_spec;

/* Eigenvalues of H below lambda, N(lambda) = #{sigma^2 < lambda} - #neg K(lambda);
 * -1 if GSL's eigen solver fails. */
static long cir_count_below(cir_spec *s, double lambda) {
  size_t k = s->k, k2 = 2 * k, T = s->nm * k2;
  double below = 0;
  for (size_t m = 0; m < s->nm; m++)
    for (size_t t = 0; t < k2; t++) {
      double d = s->sig2[m * k2 + t];
      if (d < lambda) below += s->wgt[m] / 2; /* each complex value appears twice in t */
      s->coef[m * k2 + t] = lambda * s->wgt[m] / (lambda - d);
    }
  /* K = q I - A^T diag(coef) A with A = the T x k stack of the vectors a */
  for (size_t r = 0; r < T; r++)
    for (size_t i = 0; i < k; i++) s->scaled[r * k + i] = s->coef[r] * s->a[r * k + i];
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)T, -1.0, s->a,
              (int)k, s->scaled, (int)k, 0.0, s->kmat, (int)k);
  for (size_t i = 0; i < k; i++) s->kmat[i * k + i] += (double)s->q;
  gsl_matrix_view K = gsl_matrix_view_array(s->kmat, k, k);
  gsl_vector_view E = gsl_vector_view_array(s->eval, k);
  if (gsl_eigen_symm(&K.matrix, &E.vector, s->ews) != GSL_SUCCESS) return -1;
  long neg = 0;
  for (size_t i = 0; i < k; i++) neg += s->eval[i] < 0;
  return (long)lround(below) - neg;
}

/* Smallest lambda in (lo, hi] with N(lambda) >= target, given N(lo) < target <= N(hi),
 * to relative precision 1e-11 (the condition number to ~1e-11: a diagnostic, compared
 * with SVDs good to ~cond*eps) by bisection in the logarithm, ~36 steps. */
static int cir_bisect(cir_spec *s, double lo, double hi, long target, double *out) {
  for (int it = 0; it < 200 && hi > lo * (1 + 1e-11); it++) {
    double mid = sqrt(lo * hi);
    if (!(mid > lo && mid < hi)) break;
    long nb = cir_count_below(s, mid);
    if (nb < 0) return COD_ENUMERIC;
    if (nb >= target) hi = mid;
    else lo = mid;
  }
  *out = hi;
  return COD_OK;
}

static int cir_spec_fill(const cod_code *c, const size_t *ids, cir_spec *s) {
  size_t k = s->k, k2 = 2 * k;
  double *v = cod_malloc_array(2 * k * k, sizeof *v);
  double *g = cod_malloc_array(k2 * k2, sizeof *g), *rv = cod_malloc_array(k2 * k2, sizeof *rv);
  double *sv = cod_malloc_array(k2, sizeof *sv), *wk = cod_malloc_array(k2, sizeof *wk);
  int rc = v && g && rv && sv && wk ? COD_OK : COD_ENOMEM;
  for (size_t m = 1; m <= s->nm && rc == COD_OK; m++) {
    cir_vandermonde(c, ids, m, v);
    for (size_t r = 0; r < k; r++)
      for (size_t i = 0; i < k; i++) {
        double re = v[2 * (r * k + i)], im = v[2 * (r * k + i) + 1];
        g[r * k2 + i] = re, g[r * k2 + k + i] = -im;
        g[(k + r) * k2 + i] = im, g[(k + r) * k2 + k + i] = re;
      }
    gsl_matrix_view G = gsl_matrix_view_array(g, k2, k2), R = gsl_matrix_view_array(rv, k2, k2);
    gsl_vector_view S = gsl_vector_view_array(sv, k2), Wk = gsl_vector_view_array(wk, k2);
    /* Golub-Reinsch: sigma to ~eps*sigma_max, i.e. cond to ~cond*eps relative, several
     * times faster than one-sided Jacobi (which took two thirds of a search's time) */
    if (gsl_linalg_SV_decomp(&G.matrix, &R.matrix, &S.vector, &Wk.vector) != GSL_SUCCESS) {
      rc = COD_ENUMERIC;
      break;
    }
    s->wgt[m - 1] = 2 * m == s->q ? 1.0 : 2.0;
    for (size_t t = 0; t < k2; t++) {
      s->sig2[(m - 1) * k2 + t] = sv[t] * sv[t];
      for (size_t i = 0; i < k; i++) s->a[((m - 1) * k2 + t) * k + i] = rv[i * k2 + t];
    }
  }
  cod_free(v), cod_free(g), cod_free(rv), cod_free(sv), cod_free(wk);
  return rc;
}

int cod_cir_cond(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                 cod_err *err) {
  cir_spec s;
  memset(&s, 0, sizeof s);
  s.k = c->delta, s.q = c->q, s.nm = c->q / 2;
  if (n_sel != s.k)
    return cod_err_set(err, COD_EINVAL, "nsctc-cir condition number: %zu workers for threshold %zu",
                       n_sel, s.k);
  size_t k = s.k, T = s.nm * 2 * k;
  s.sig2 = cod_malloc_array(T, sizeof *s.sig2);
  s.a = cod_malloc_array(T * k, sizeof *s.a);
  s.wgt = cod_malloc_array(s.nm, sizeof *s.wgt);
  s.kmat = cod_malloc_array(k * k, sizeof *s.kmat);
  s.coef = cod_malloc_array(T, sizeof *s.coef);
  s.scaled = cod_malloc_array(T * k, sizeof *s.scaled);
  s.eval = cod_malloc_array(k, sizeof *s.eval);
  int rc = COD_OK;
  if (!s.sig2 || !s.a || !s.wgt || !s.kmat || !s.coef || !s.scaled || !s.eval) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for the nsctc-cir condition number");
    goto done;
  }
  s.ews = gsl_eigen_symm_alloc(k);
  if (!s.ews) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for an eigenvalue workspace");
    goto done;
  }
  if ((rc = cir_spec_fill(c, ids, &s))) {
    rc = cod_err_set(err, rc, rc == COD_ENOMEM ? "out of memory in the nsctc-cir condition number"
                                               : "nsctc-cir condition number: SVD failed");
    goto done;
  }
  double dmin = INFINITY, dmax = 0;
  for (size_t t = 0; t < T; t++) dmin = fmin(dmin, s.sig2[t]), dmax = fmax(dmax, s.sig2[t]);
  long total = (long)(k * (c->q - 1));
  double lmin = 0, lmax = 0;
  if (!(dmin > 0)) {
    *cond = INFINITY; /* a singular V_m: distinct nodes make this impossible for prime q */
    goto done;
  }
  /* H >= D, and ||C||^2 <= (q-1) dmax: lambda_min(H) in [dmin, ...], lambda_max in
   * [dmax, q dmax]; open the upper end of the first bracket until it holds an eigenvalue */
  double hi = dmin * 2;
  while (cir_count_below(&s, hi) < 1 && hi < (double)c->q * dmax * 4) hi *= 2;
  if ((rc = cir_bisect(&s, dmin * (1 - 4 * DBL_EPSILON), hi, 1, &lmin)) ||
      (rc = cir_bisect(&s, dmax * (1 - 4 * DBL_EPSILON), (double)c->q * dmax * (1 + 1e-12),
                       total, &lmax))) {
    rc = cod_err_set(err, COD_ENUMERIC, "nsctc-cir condition number: eigenvalue count failed");
    goto done;
  }
  /* both ends carry the bisection's 1e-11; a perfectly conditioned set must not read < 1 */
  *cond = fmax(1.0, sqrt(lmax / lmin));
done:
  if (s.ews) gsl_eigen_symm_free(s.ews);
  cod_free(s.sig2), cod_free(s.a), cod_free(s.wgt), cod_free(s.kmat);
  cod_free(s.coef), cod_free(s.scaled), cod_free(s.eval);
  return rc;
}
