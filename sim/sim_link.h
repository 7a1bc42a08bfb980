/* sim_link.h: network transfers over point-to-point links and a shared NIC (prefix sim_).
 *
 * A link is plain data: a bandwidth in bits per second and a one-way propagation latency
 * in seconds. An uncontended transfer of b bytes takes latency + 8b / bandwidth.
 *
 * A NIC (the master's) is shared by concurrent transfers. It serialises bits at rate_bps
 * under one of two disciplines:
 *   SEQUENTIAL  FIFO: one transfer at a time at the full rate, in submission order.
 *   FAIR        processor sharing: k active transfers each get rate_bps / k.
 * A transfer's total time is its serialization under the discipline plus its own
 * propagation latency (given per transfer, since workers sit behind different links);
 * the transfer stops occupying the NIC when its last bit is serialised. The NIC drives
 * itself through engine events: one pending "next serialization completion" event,
 * cancelled and rescheduled whenever a transfer starts, finishes or is cancelled, plus one
 * delivery event per transfer in its propagation phase.
 *
 * Rounding: the NIC keeps the fluid model exactly in double precision (finish times in
 * fractional nanoseconds, a virtual clock of bits served per active transfer), so no
 * rounding error accumulates across events; only the engine events are placed on the
 * integer grid: serialization completing at exact time t fires at ceil(t) and delivers at
 * ceil(t) + latency_ns. Transfers ending at the same exact instant are delivered in
 * submission order.
 *
 * Ownership mirrors the engine: a transfer's payload is released through its finalizer
 * exactly once, after its completion callback, when it is cancelled, or when the NIC is
 * freed. A NIC must be freed before its engine.
 */
#ifndef FCDCC_SIM_LINK_H
#define FCDCC_SIM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"
#include "sim_engine.h"

/* A point-to-point link. Plain data. */
typedef struct sim_link {
  double bandwidth_bps; /* > 0 */
  double latency_s;     /* >= 0, one way */
} sim_link;

/* ceil(8 * bytes / bandwidth_bps seconds) in ns: serialization time at the full rate. */
sim_time_ns sim_link_serialize_ns(double bandwidth_bps, uint64_t bytes);

/* Uncontended transfer time in ns: ceil((latency_s + 8 * bytes / bandwidth_bps) * 1e9). */
sim_time_ns sim_link_transfer_ns(const sim_link *l, uint64_t bytes);

typedef enum sim_nic_discipline {
  SIM_NIC_SEQUENTIAL = 0,
  SIM_NIC_FAIR = 1
} sim_nic_discipline;

/* Identifies one transfer; 0 (SIM_XFER_NONE) is never issued. */
typedef uint64_t sim_xfer_id;
#define SIM_XFER_NONE ((sim_xfer_id)0)

typedef struct sim_nic sim_nic;

/* Create a NIC of rate_bps (> 0, finite) driven by engine e (which must outlive it).
 * COD_OK with *out owning the NIC, COD_EINVAL for a bad rate, COD_ENOMEM. */
int sim_nic_new(sim_engine *e, double rate_bps, sim_nic_discipline discipline,
                sim_nic **out, cod_err *err);

/* Cancel the NIC's engine events and finalize every unfinished transfer's payload
 * (without calling completion callbacks). Accepts NULL. Call before sim_engine_free. */
void sim_nic_free(sim_nic *n);

/* Start (FAIR) or enqueue (SEQUENTIAL) a transfer of `bytes` at the current engine time.
 * When its last bit has been serialised and latency_ns (>= 0) has elapsed, done(e,
 * payload) runs from an engine event, then fini(payload) (fini may be NULL). *id_out,
 * if non-NULL, receives the id. Returns COD_OK or COD_ENOMEM (then nothing was
 * submitted, the payload stays the caller's, and the NIC's sticky status is set). */
int sim_nic_submit(sim_nic *n, uint64_t bytes, sim_time_ns latency_ns, sim_event_fn done,
                   void *payload, sim_fini_fn fini, sim_xfer_id *id_out);

/* Cancel a transfer in any phase (queued, serialising, propagating): it never completes,
 * its payload is finalized now, and the others' shares are updated from now on. Returns 1
 * if it was cancelled, 0 if the id is not in flight (delivered, cancelled, NONE). */
int sim_nic_cancel(sim_nic *n, sim_xfer_id id);

/* Transfers currently being serialised (FAIR: all not yet serialised; SEQUENTIAL: 0/1). */
size_t sim_nic_active(const sim_nic *n);

/* Transfers submitted and neither delivered nor cancelled (queued + active + propagating). */
size_t sim_nic_in_flight(const sim_nic *n);

/* Total bytes of delivered transfers. */
uint64_t sim_nic_bytes_delivered(const sim_nic *n);

/* Sticky status: COD_OK, COD_ENOMEM if the NIC could not schedule an engine event from
 * inside an engine callback, or COD_EINVAL if a transfer would have been delivered beyond
 * SIM_TIME_HORIZON_NS (it then stays undelivered); either way it also calls
 * sim_engine_stop(), and the simulation is no longer faithful once this is set. */
int sim_nic_status(const sim_nic *n);

#endif
