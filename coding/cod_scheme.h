/* cod_scheme.h: INTERNAL to coding/. The plan structure and the scheme ops table.
 *
 * A scheme's ops fill in the integers (slab and group counts, per-worker multiplicities,
 * threshold) and then the real coefficient matrices A (n*e_A x m_in) and B (n*e_B x
 * m_filt); the generic machinery in cod_code.c does the rest. Optional ops give a
 * structured decoder and condition number; when absent, the generic SVD path is used.
 * A scheme is registered as a cod_scheme_def (its public cod_scheme_info beside its ops)
 * in the table of cod_registry.c.
 */
#ifndef FCDCC_COD_SCHEME_H
#define FCDCC_COD_SCHEME_H

#include <gsl/gsl_rng.h>

#include "cod_code.h"
#include "cod_registry.h"

typedef struct cod_scheme_ops cod_scheme_ops;
typedef struct cod_scheme_def cod_scheme_def;

/* One coefficient matrix as the encoder applies it (cod_code.c): the dense matrix (rows x
 * m, row-major, the code's own), its non-zero count, and when cod_encode_is_sparse says so
 * its rows compressed (CSR: row r's entries are val[rp[r] .. rp[r+1]), columns ascending).
 * Dense matrices go through one GEMM. */
typedef struct cod_coef_op {
  const double *dense;
  size_t m, nnz;
  int sparse;
  size_t *rp, *col;
  double *val;
} cod_coef_op;

struct cod_code {
  cod_code_params prm;
  const cod_scheme_ops *ops;
  size_t n, ka, kb, q;
  size_t m_in, m_filt;   /* data slabs and data filter groups */
  size_t ea, eb;         /* coded slabs and groups per worker */
  size_t delta;          /* results needed */
  int code_filters;      /* nsctc-cir: 1 if the filters (not the input) are coded */
  const cod_scheme_def *def; /* the registry row */
  gsl_rng *rng;          /* seeded schemes: the generator of fill (NULL outside fill) */
  cod_partition part;
  cod_conv_geom wgeom;   /* one worker convolution: a coded slab with e_B coded groups */
  double *A;             /* n*ea x m_in, row-major */
  double *B;             /* n*eb x m_filt */
  /* workers whose rows of A are equal (compared exactly) receive the same coded input:
   * in_class[j] is j's class, classes numbered by first worker; A_cls holds each class's
   * rows (n_in_classes*ea x m_in) */
  size_t *in_class, n_in_classes;
  double *A_cls;
  /* the workers ordered by class, then index: cm_worker[p] is the worker at position p,
   * cm_slot[j] worker j's position (inverse permutations) */
  size_t *cm_worker, *cm_slot;
  /* how the encoder applies A, A_cls and B (A_cls takes A's path, so a class's coded
   * slabs are the bytes its workers' rows of A give) */
  cod_coef_op opA, opA_cls, opB;
};

struct cod_scheme_ops {
  const char *name;
  /* Check parameters; set m_in, m_filt, ea, eb, delta, q. Must not allocate: it is also
   * the dry run of cod_scheme_check (on a code with only prm, n, ka, kb and q set). */
  int (*plan)(cod_code *c, cod_err *err);
  /* Fill c->A and c->B (allocated and zeroed by the caller). A scheme whose info says
   * takes_seed draws from c->rng, seeded with prm.seed by cod_code_new. */
  void (*fill)(cod_code *c);
  /* Choose which of the n_avail workers to use; write positions into avail (0-based
   * indices of the avail array) to sel (room for delta) and their count to *n_sel.
   * 0 or COD_EUNDECODABLE. */
  int (*select)(const cod_code *c, const size_t *avail, size_t n_avail, size_t *sel,
                size_t *n_sel);
  /* Optional structured decoder: the layer output y (N x H' x W', written completely via
   * cod_partition_scatter) from the results of the selected workers (ids[i], results[i],
   * i < n_sel). Sets *cond unless cond is NULL (the caller did not ask for it). */
  int (*decode_fast)(const cod_code *c, const size_t *ids, size_t n_sel,
                     const double *const *results, double *y, double *cond, void *work,
                     cod_err *err);
  /* Optional structured condition number of the selected set. */
  int (*cond_fast)(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                   cod_err *err);
  /* Optional flop count of decode_fast's product (the master's decode cost model);
   * absent: the generic decoder's 2 * unknowns * results * out_block_len. */
  double (*decode_flops)(const cod_code *c);
  /* Optional: bytes of the workspace decode_fast can take (it allocates when given NULL). */
  size_t (*decode_work_bytes)(const cod_code *c);
  /* Trait: 1 if the code is APPROXIMATE (berrut): select accepts any non-empty set,
   * decode_fast (required then) is its only decoder and its error shrinks with more
   * results; cond_fast (required then) reports the decoder's amplification. */
  int approximate;
};

extern const cod_scheme_ops cod_scheme_rot, cod_scheme_cir, cod_scheme_uncoded,
    cod_scheme_replication, cod_scheme_poly_real, cod_scheme_poly_cheb, cod_scheme_berrut;

/* One row of the registry: the public description and the implementation. info.name and
 * ops->name are the same string (a registry test checks it). */
struct cod_scheme_def {
  cod_scheme_info info;
  const cod_scheme_ops *ops;
};

/* The rows of cod_registry.c's table, defined beside each scheme's ops. */
extern const cod_scheme_def cod_def_rot, cod_def_cir, cod_def_uncoded, cod_def_replication,
    cod_def_poly_real, cod_def_poly_cheb, cod_def_berrut, cod_def_rkr;

/* The registry row of the scheme called name, or NULL (no message). */
const cod_scheme_def *cod_scheme_def_find(const char *name);

/* Shared selection rule of MDS codes: the first delta workers given. */
int cod_select_first_delta(const cod_code *c, const size_t *avail, size_t n_avail,
                           size_t *sel, size_t *n_sel);

/* nsctc-cir's structured decoder and condition number (cod_cir_fft.c), the
 * decode_fast / cond_fast / decode_flops / decode_work_bytes of cod_scheme_cir: FFT along
 * the piece index, one k x k Vandermonde solve per frequency, inverse FFT; the exact
 * 2-norm condition number of the generic recovery matrix from the per-frequency SVDs. */
int cod_cir_decode(const cod_code *c, const size_t *ids, size_t n_sel,
                   const double *const *results, double *y, double *cond, void *work,
                   cod_err *err);
int cod_cir_cond(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                 cod_err *err);
double cod_cir_decode_flops(const cod_code *c);
size_t cod_cir_decode_work_bytes(const cod_code *c);

/* Linear-algebra helpers (cod_linalg.c). Matrices are row-major. */
/* 2-norm condition number of a real rows x cols matrix (rows >= cols) from its singular
 * values (Golub-Reinsch SVD). COD_ENOMEM on allocation failure. */
int cod_la_cond_real(const double *m, size_t rows, size_t cols, double *cond);
/* Left inverse pinv (cols x rows) of m (rows x cols, rows >= cols): LU inverse when
 * square, QR least-squares operator otherwise; *cond gets sigma_max/sigma_min, also when
 * it returns COD_ENUMERIC (sigma_min/sigma_max < rtol). */
int cod_la_pinv(const double *m, size_t rows, size_t cols, double rtol, double *pinv,
                double *cond, cod_err *err);
/* Inverse of a complex n x n matrix (interleaved re,im; row-major) by LU with partial
 * pivoting. COD_ENUMERIC if singular. */
int cod_la_complex_inverse(const double *m, size_t n, double *inv, cod_err *err);
/* The first g rows of the inverse of a complex n x n matrix (layout as above; inv is g x n),
 * without the other rows; work holds cod_la_complex_inverse_rows_work_doubles(n) doubles.
 * COD_ENUMERIC if singular. */
size_t cod_la_complex_inverse_rows_work_doubles(size_t n);
int cod_la_complex_inverse_rows(const double *m, size_t n, size_t g, double *inv, double *work,
                                cod_err *err);
/* For a tall complex rows x n matrix m (rows >= n, interleaved, row-major): the n rows that
 * LU with partial pivoting (by the squared modulus) chooses, sel[0..n) in pivot order, and
 * the first g rows of the inverse of that square submatrix (m's rows sel[0], sel[1], ...),
 * inv g x n with column r belonging to row sel[r]. A decoder with more results than
 * unknowns uses it to solve from a well-conditioned subset. prefer (NULL, or a flag per row
 * of m): a flagged row is pivoted on instead of the largest when its modulus is at least
 * 0.1 of the largest (threshold pivoting; multipliers stay below 10), so a decoder can reuse
 * the rows it already reads. work holds
 * cod_la_complex_select_inverse_rows_work_doubles(rows, n) doubles. COD_ENUMERIC if
 * singular, COD_EINVAL if rows < n. */
size_t cod_la_complex_select_inverse_rows_work_doubles(size_t rows, size_t n);
int cod_la_complex_select_inverse_rows(const double *m, size_t rows, size_t n, size_t g,
                                       const unsigned char *prefer, size_t *sel, double *inv,
                                       double *work, cod_err *err);
/* The real (2g x 2n) embedding [[Re, -Im], [Im, Re]] of the first g rows of the complex
 * n x n matrix m (interleaved re/im, row-major), written to r. */
void cod_la_complex_embed(const double *m, size_t g, size_t n, double *r);
/* 2-norm condition number of a complex n x n matrix via its real 2n x 2n embedding. */
int cod_la_cond_complex(const double *m, size_t n, double *cond);
/* The infinity norm of the real rows x cols matrix m (row-major): its largest row sum of
 * |m|, 0 for no rows. */
double cod_la_max_abs_row_sum(const double *m, size_t rows, size_t cols);

#endif
