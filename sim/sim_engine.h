/* sim_engine.h: the discrete-event engine core (prefix sim_).
 *
 * An engine is a clock plus a priority queue of pending events. Simulated time is one
 * unit everywhere: signed 64-bit integer nanoseconds (sim_time_ns), which spans 292 years
 * and makes equal times compare exactly. Times computed from input stay within the
 * horizon SIM_TIME_HORIZON_NS (2^62 ns, about 146 years) through the checked conversion
 * and addition below, so the sum of two of them cannot overflow. Events are ordered by (time, sequence number),
 * the sequence number being the order of scheduling, so events at equal times fire in the
 * order they were scheduled (FIFO) and a run is reproducible bit for bit.
 *
 * The engine knows nothing about what events mean: an event is a callback, a payload and
 * an optional finalizer. The payload is owned by the engine from a successful schedule
 * until its finalizer has run; the finalizer runs exactly once, in whichever of these
 * happens first: the event fires (after its callback returns), it is cancelled, or the
 * engine is freed while it is still pending.
 *
 * Costs: schedule, cancel and pop are O(log n) in the number of pending events; no
 * allocation happens per event once the node pool has grown to the peak number of pending
 * events (the pool doubles when full; that is the only runtime failure, COD_ENOMEM).
 * The engine is single-threaded and not reentrant across threads.
 */
#ifndef FCDCC_SIM_ENGINE_H
#define FCDCC_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

/* Simulated time and durations, in integer nanoseconds. */
typedef int64_t sim_time_ns;
/* Largest representable time: "never". Also the `until` of a run that drains the queue. */
#define SIM_TIME_NEVER INT64_MAX
/* The simulation horizon: 2^62 ns, about 146 years. Every time a simulation computes from
 * its inputs must stay at or below it; the checked conversions below refuse anything
 * beyond it, so that the sum of two in-horizon times (< 2^63) can never overflow and a
 * caller can report "simulated time beyond horizon" instead of wrapping around. */
#define SIM_TIME_HORIZON_NS ((sim_time_ns)1 << 62)
#define SIM_TIME_HORIZON_S 4611686018.427387904 /* the same, in seconds */

/* Identifies one scheduled event. 0 is never issued, so it can mean "no event". An id
 * stays unique for the life of the engine (ids carry a slot generation; a slot would have
 * to be reused 2^32 times for an id to repeat). */
typedef uint64_t sim_event_id;
#define SIM_EVENT_NONE ((sim_event_id)0)

typedef struct sim_engine sim_engine;

/* An event callback. It runs with sim_engine_now(e) equal to the event's time and may
 * schedule, cancel (including its own id, a no-op) and call sim_engine_stop(). It must
 * not free the engine. A callback that meets a runtime error records it in its own state
 * and calls sim_engine_stop(). */
typedef void (*sim_event_fn)(sim_engine *e, void *payload);
/* A payload finalizer; NULL means the payload needs no finalization. It must not call
 * into the engine (it may run from sim_engine_free). */
typedef void (*sim_fini_fn)(void *payload);

/* Why sim_engine_run() returned. */
typedef enum sim_run_reason {
  SIM_RUN_EMPTY = 0,   /* no pending events left */
  SIM_RUN_UNTIL = 1,   /* the next pending event is later than `until` */
  SIM_RUN_STOPPED = 2  /* a callback called sim_engine_stop() */
} sim_run_reason;

/* Create an engine at time 0 with room for `capacity_hint` pending events before the
 * first growth (0 picks a small default). On success *out owns the engine (free with
 * sim_engine_free) and COD_OK is returned; on failure COD_ENOMEM (or COD_EINVAL for a
 * hint above 2^31 events), *out untouched. */
int sim_engine_new(size_t capacity_hint, sim_engine **out, cod_err *err);

/* Free the engine; runs the finalizer of every still-pending event (in no specified
 * order) without firing it. Accepts NULL. */
void sim_engine_free(sim_engine *e);

/* Current simulated time in ns: the time of the event being fired or last fired, or the
 * `until` of the last run that ran out of earlier events (0 for a new engine). */
sim_time_ns sim_engine_now(const sim_engine *e);

/* Schedule fn(e, payload) at absolute time t_ns (>= now: scheduling in the past is a
 * programming error and asserts). If id_out is non-NULL it receives the event id.
 * Returns COD_OK, or COD_ENOMEM when the node pool cannot grow; on failure nothing is
 * scheduled, *id_out is untouched and the payload stays the caller's (fini is NOT run). */
int sim_engine_schedule_at(sim_engine *e, sim_time_ns t_ns, sim_event_fn fn, void *payload,
                           sim_fini_fn fini, sim_event_id *id_out);

/* As sim_engine_schedule_at at now + delay_ns (delay_ns >= 0, asserted). A time now +
 * delay_ns beyond SIM_TIME_HORIZON_NS (or one that would overflow) is refused with
 * COD_EINVAL and nothing is scheduled, so a huge delay computed from input is a status,
 * never an assertion. */
int sim_engine_schedule_after(sim_engine *e, sim_time_ns delay_ns, sim_event_fn fn,
                              void *payload, sim_fini_fn fini, sim_event_id *id_out);

/* Cancel a pending event: it is removed without firing and its finalizer runs now.
 * Returns 1 if the event was pending and is now cancelled, 0 if the id is not pending
 * (already fired, currently firing, already cancelled, SIM_EVENT_NONE): a clean no-op. */
int sim_engine_cancel(sim_engine *e, sim_event_id id);

/* 1 if id names a pending (scheduled, not yet fired or cancelled) event, else 0. */
int sim_engine_is_pending(const sim_engine *e, sim_event_id id);

/* Time of the earliest pending event, or SIM_TIME_NEVER if none. */
sim_time_ns sim_engine_next_time(const sim_engine *e);

/* Pop the earliest event, advance the clock to its time, run its callback then its
 * finalizer. Returns 1 if an event fired, 0 if the queue was empty. Ignores stop(). */
int sim_engine_step(sim_engine *e);

/* Fire events in order while the earliest has time <= until_ns and no callback has called
 * sim_engine_stop(). When it returns because the next event is later (or none is left)
 * and until_ns != SIM_TIME_NEVER, the clock advances to until_ns. The stop flag is
 * cleared on entry. Returns the reason it returned. */
sim_run_reason sim_engine_run(sim_engine *e, sim_time_ns until_ns);

/* Ask the current sim_engine_run() to return after the current callback. */
void sim_engine_stop(sim_engine *e);

/* Number of pending events. */
size_t sim_engine_pending(const sim_engine *e);

/* Number of events fired since the engine was created (cancelled ones do not count). */
uint64_t sim_engine_events_fired(const sim_engine *e);

/* Seconds to nanoseconds, rounding up (ceil) so that a positive duration never becomes
 * shorter; +INFINITY and anything at or beyond the int64 range map to SIM_TIME_NEVER.
 * s must not be NaN or negative (asserted). The ceiling is of the double product s*1e9, so
 * a decimal like 1.1e-3 whose binary value lies just above 1100000 ns yields 1100001 ns:
 * rounding never shortens, and errs by at most 1 ns. */
sim_time_ns sim_time_from_s(double s);

/* Seconds to nanoseconds, checked: rounds up as sim_time_from_s, and returns COD_OK with
 * *out set when 0 <= s and the result is <= SIM_TIME_HORIZON_NS; COD_EINVAL (*out
 * untouched) for NaN, negative, infinite or beyond-horizon durations. This is the
 * conversion for any duration that comes from input (scenario values, random draws,
 * measured wall times scaled by a factor). */
int sim_time_from_s_checked(double s, sim_time_ns *out);

/* *out = a + b when both are >= 0 and the sum is <= SIM_TIME_HORIZON_NS: COD_OK; else
 * COD_EINVAL with *out untouched (no overflow whatever a and b are). */
int sim_time_add_checked(sim_time_ns a, sim_time_ns b, sim_time_ns *out);

/* Nanoseconds to seconds (SIM_TIME_NEVER maps to +INFINITY). */
double sim_time_to_s(sim_time_ns t);

#endif
