/* mpi_proto.h (internal to mpi/): the wire protocol between the master (rank 0) and the
 * workers (ranks 1..N) of the MPI backend.
 *
 * Master -> worker j (rank j + 1), in this order, so MPI's non-overtaking rule between one
 * pair of ranks and one tag keeps them matched without sequence checks:
 *   MPIB_TAG_CTRL  one mpi_hdr: cmd LAYER (then the data below), CANCEL (stop the layer
 *                    `seq` if still busy with it, send nothing) or EXIT (answer EXIT_ACK
 *                    then leave);
 *   MPIB_TAG_X     the worker's coded input slabs (input_len values);
 *   MPIB_TAG_K     its coded filters (filter_len values), only when hdr.send_filters:
 *                    otherwise the worker reuses the copy it cached under hdr.filt_key.
 * Inputs and filters travel as doubles, or as floats when hdr.precision is fp32; results
 * always travel as doubles (an fp32 worker's result widened), so for fp32 the download is
 * twice what the simulator and the analytic model count. The bytes in the rows are the
 * bytes that travel.
 * Worker -> master: one message per answered layer on tag mpi_res_tag(seq): MPIB_RES_HEAD
 * doubles (seq, status, compute wall s, compute cpu s, injected delay s) followed by the
 * output_len values of its result (doubles). A worker whose task failed (injected
 * fail-stop) sends nothing; the master drains results of layers it has given up on (any
 * result tag but the current one) so that a late message never mixes with a later layer.
 * Headers travel as raw bytes: the ranks must share one architecture (they run the same
 * binary).
 * Constants use the prefix MPIB_ because the MPI standard reserves MPI_ for itself.
 */
#ifndef FCDCC_MPI_PROTO_H
#define FCDCC_MPI_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum { MPIB_CMD_LAYER = 1, MPIB_CMD_CANCEL = 2, MPIB_CMD_EXIT = 3, MPIB_CMD_ACK = 4 };

enum {
  MPIB_TAG_CTRL = 1,
  MPIB_TAG_X = 2,
  MPIB_TAG_K = 3,
  MPIB_TAG_ACK = 4,
  MPIB_TAG_RES0 = 100,     /* result tags: MPIB_TAG_RES0 + seq % MPIB_RES_SPAN */
  MPIB_RES_SPAN = 30000    /* MPI guarantees tags up to 32767 */
};

#define MPIB_RES_HEAD 5      /* doubles before the result values */
#define MPIB_CACHE 16        /* coded filter sets a worker keeps (round robin) */
#define MPIB_SCHEME_MAX 32

typedef struct mpi_hdr {
  int64_t cmd;               /* MPIB_CMD_* */
  int64_t seq;               /* layer sequence number of the master, from 0 */
  char scheme[MPIB_SCHEME_MAX];
  int64_t n_workers, ka, kb, q, axis;
  double rank_rtol;
  int64_t geom[8];           /* c, h, w, n_filters, kh, kw, stride, pad */
  int64_t precision;         /* 0 fp64, 1 fp32 */
  uint64_t filt_key;         /* content hash of this worker's coded filters */
  int64_t send_filters;      /* 1: the filters follow on MPIB_TAG_K; 0: use the cache */
  int64_t cache_slot;        /* where to keep them (the master mirrors the cache) */
  double delay_s;            /* injected straggling delay after the computation */
  int64_t fail;              /* 1: fail-stop, never answer this layer */
  double snr_db;             /* worker noise, INFINITY = none */
  uint64_t seed, trial, run_serial; /* the noise stream (seed, trial, worker) of the run */
} mpi_hdr;

static inline int mpi_res_tag(int64_t seq) { return MPIB_TAG_RES0 + (int)(seq % MPIB_RES_SPAN); }

/* Helpers shared by both sides (mpi_util.c). */
/* Sleep s seconds (nothing if s <= 0 or NaN): the pause between two polls. */
void mpib_nap(double s);
/* Make *p (aligned, cod_alloc) hold at least `need` bytes; *have = its size. Old contents
 * are not kept. 0 on success, -1 if out of memory (*p and *have unchanged). */
int mpib_grow(void **p, size_t *have, size_t need);

#endif
