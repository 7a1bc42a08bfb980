#!/usr/bin/python3
"""peer-simpy.py: fcdcc's model-only protocol re-implemented in SimPy 3, the peer that
`fcdcc run` is compared with (docs/peers.md).

Design. The quickstart cluster (scenarios/quickstart.ini: AlexNet's five conv layers,
n workers, nsctc-rot k_A x k_B, shifted-exponential workers, one NIC per direction at the
master shared by processor sharing, a dedicated link per worker and direction) is
simulated the way runner/run_layer.c and runner/run_exec.c simulate it with
`[run] compute = model`, event for event, as SimPy processes:
  - the master runs its own layers (ReLU, pooling, FC: 2 MACs / master_flops each, a
    ReLU or pool counting one MAC per output value) before, between and after the convs;
  - per conv layer: encode (encode_flops / master_flops); every worker's upload crosses
    the master's to_worker NIC (fair sharing, fcdcc's virtual-time fluid model of
    sim/sim_link.c) and its own downlink; it arrives at max(NIC done, start + bytes/link)
    + latency_s; the worker then computes for nominal x (shift + Exp(rate)), nominal =
    worker_flops / compute_rate_flops; its result crosses its uplink and the to_master NIC
    the same way; at the delta-th arrival the master decodes (decode_flops / master_flops)
    and every other worker's pending transfer or computation is cancelled (interrupted);
  - simulated time is integer nanoseconds and every duration is rounded up as fcdcc's
    sim_time_from_s does, so with deterministic workers both simulators give the same
    times to the nanosecond (checked by --check).
The per-worker bytes and flops are re-derived here from the layer shapes (the formulas
of analytic/an_cost.c for nsctc-rot, which tests/analytic holds equal to the simulator's
counts). Each run writes a runs row, a layers row per conv and (unless --no-worker-rows)
a workers row per (layer, worker) to SQLite, committed in batches, as fcdcc does.
What the peer does NOT do: condition numbers (`[run] cond = used` is fcdcc's extra work;
compare with `cond = none` for the same work), other schemes, laws or sharing rules
(refused with a message), real arithmetic.

Modes (each takes --scenario INI and fcdcc's --set section.key=value overrides):
  peer-simpy.py --runs N --db PATH            simulate N runs into a new database
  peer-simpy.py --check FCDCC [--runs N]      agreement with `fcdcc run` (exact with
                                              deterministic workers; mean, p95, per-layer
                                              means and KS with shifted-exp, on the
                                              quickstart cluster and a NIC-bound one, or
                                              only the first with --quick); exit 1 on a
                                              mismatch
  peer-simpy.py --compare FCDCC [--runs N]    runs/s of both side by side, median of --reps
Exit status: 0 ok, 1 a failed check or a failing child, 2 a usage error, 77 SimPy absent.
"""
import argparse
import configparser
import math
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import simpy
except ImportError:  # the peer is optional: Debian's python3-simpy3 provides `simpy`
    simpy = None

HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART = os.path.join(HERE, "..", "scenarios", "quickstart.ini")

# AlexNet as models/zoo/alexnet.model defines it (`fcdcc models alexnet`): the conv layers'
# geometry (c, h, w, filters, k, stride, pad) and the MACs of the master's layers after
# each conv (ReLU and pooling count one MAC per output value, runner/run_exec.c
# master_macs); nothing runs before conv1.
ALEXNET_CONVS = [
    ("conv1", 3, 224, 224, 64, 11, 4, 2),
    ("conv2", 64, 27, 27, 192, 5, 1, 2),
    ("conv3", 192, 13, 13, 384, 3, 1, 1),
    ("conv4", 384, 13, 13, 256, 3, 1, 1),
    ("conv5", 256, 13, 13, 256, 3, 1, 1),
]
ALEXNET_MASTER_MACS_AFTER = [
    64 * 55 * 55 + 64 * 27 * 27,                     # relu1, maxpool1
    192 * 27 * 27 + 192 * 13 * 13,                   # relu2, maxpool2
    384 * 13 * 13,                                   # relu3
    256 * 13 * 13,                                   # relu4
    256 * 13 * 13 + 256 * 6 * 6 + 37748736 + 4096    # relu5, maxpool3, fc6, relu6,
    + 16777216 + 4096 + 4096000,                     # fc7, relu7, fc8
]


def ceil_div(a, b):
    return (a + b - 1) // b


def nsctc_rot_costs(c, h, w, nf, k, s, p, n, ka, kb, el=8):
    """Per-worker bytes and flops of one nsctc-rot layer, rows axis (analytic/an_cost.c):
    m_in = 2 k_A slabs, m_filt = 2 k_B groups, 2 coded slabs and 2 coded groups per worker."""
    m_in, m_filt, ea, eb, delta = 2 * ka, 2 * kb, 2, 2, ka * kb
    hp, wp = h + 2 * p, w + 2 * p
    oh, ow = (hp - k) // s + 1, (wp - k) // s + 1
    out_per_slab, filt_per_group = ceil_div(oh, m_in), ceil_div(nf, m_filt)
    span = (out_per_slab - 1) * s + k
    ckk = c * k * k
    slab, group, block = c * span * wp, filt_per_group * ckk, filt_per_group * out_per_slab * ow
    return {
        "bytes_up": (ea * slab + eb * group) * el,
        "bytes_down": ea * eb * block * el,
        "worker_flops": 2.0 * ea * eb * block * ckk,
        "encode_flops": 2.0 * n * (ea * m_in * slab + eb * m_filt * group),
        "decode_flops": 6.0 * 2.0 * delta * delta * block,  # rot_decode_flops (Gauss)
        "delta": delta,
    }


def ns_ceil(t_s):
    """Seconds to integer ns, rounded up (sim/sim_engine.c sim_time_from_s)."""
    return int(math.ceil(t_s * 1e9))


def real_or_unlimited(v):
    """A rate in bit/s or `unlimited` (fcdcc's unit suffixes such as 100Mbit/s are not read)."""
    try:
        return math.inf if v.strip() == "unlimited" else float(v)
    except ValueError:
        raise SystemExit("peer-simpy: rate %s: give bit/s as a plain number or unlimited" % v)


class Cluster:
    """The scenario's cluster, read from an INI file with fcdcc's defaults for the keys it
    leaves out (scenarios/README.md); a key the peer does not model is refused."""

    def __init__(self, path, sets=()):
        ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
        if not ini.read(path):
            raise SystemExit("peer-simpy: cannot read %s" % path)
        for kv in sets:  # fcdcc's --set section.key=value, single values only
            key, eq, val = kv.partition("=")
            sec, dot, name = key.partition(".")
            if not eq or not dot or "," in val:
                raise SystemExit("peer-simpy: --set %s: expected section.key=value" % kv)
            if not ini.has_section(sec):
                ini.add_section(sec)
            ini.set(sec, name, val)

        def get(sec, key, default):
            return ini.get(sec, key, fallback=default).strip()

        def num(sec, key, default, kind=float):
            v = get(sec, key, default)
            try:
                return kind(v)
            except ValueError:
                raise SystemExit("peer-simpy: %s: [%s] %s = %s: the peer takes one %s value "
                                 "(no sweeps)" % (path, sec, key, v, kind.__name__))

        schemes = [x.strip() for x in get("coding", "scheme", "nsctc-rot").split(",")]
        if "nsctc-rot" not in schemes:
            raise SystemExit("peer-simpy: %s: [coding] scheme = %s: the peer models nsctc-rot "
                             "(the point of that scheme)" % (path, ", ".join(schemes)))

        self.n = num("cluster", "workers", "20", int)
        self.ka, self.kb = num("coding", "ka", "4", int), num("coding", "kb", "4", int)
        if not (self.n >= 1 and self.ka >= 1 and self.kb >= 1 and self.ka * self.kb <= self.n):
            raise SystemExit("peer-simpy: %s: need 1 <= ka*kb <= workers (ka %d, kb %d, workers %d)"
                             % (path, self.ka, self.kb, self.n))
        self.rate_flops = num("cluster", "compute_rate_flops", "1e10")
        self.law = get("latency", "model", "shifted-exp")
        self.shift, self.mu = num("latency", "shift", "1"), num("latency", "rate", "1")
        def link(key, alias):  # fcdcc's key or its older alias, never both (as fcdcc)
            if ini.has_option("network", key) and ini.has_option("network", alias):
                raise SystemExit("peer-simpy: %s: [network] %s and %s are one key (%s is its "
                                 "alias): set one" % (path, key, alias, alias))
            return get("network", key, get("network", alias, "1e9"))

        self.up_bps = real_or_unlimited(link("to_master_bps", "uplink_bps"))  # worker -> master
        self.down_bps = real_or_unlimited(link("to_worker_bps", "downlink_bps"))  # master -> worker
        self.lat_s = num("network", "latency_s", "0")
        self.master_bps = real_or_unlimited(get("network", "master_bps", "1e10"))
        self.master_flops = num("master", "master_flops", "1e11")
        refuse = [("model", "name", "alexnet"), ("model", "layers", "all"),
                  ("network", "master_sharing", "fair"), ("master", "timing", "model"),
                  ("run", "precision", "fp64"), ("coding", "axis", "rows"),
                  ("coding", "q", "0"), ("cluster", "allocation", "equal"),
                  ("latency", "fail_workers", "none"), ("cluster", "stragglers", "random"),
                  ("cluster", "storage_bytes", "unlimited"), ("cluster", "returns", "per-worker")]
        for sec, key, only in refuse:
            v = get(sec, key, only)
            if v != only:
                raise SystemExit("peer-simpy: %s: [%s] %s = %s: the peer models only %s"
                                 % (path, sec, key, v, only))
        if self.law not in ("shifted-exp", "deterministic"):
            raise SystemExit("peer-simpy: latency law %s: the peer models shifted-exp and "
                             "deterministic only" % self.law)
        if any(s.startswith("class ") for s in ini.sections()):
            raise SystemExit("peer-simpy: %s: worker classes are not modelled" % path)
        self.layers = []
        for (name, c, h, w, nf, k, s, p), after in zip(ALEXNET_CONVS, ALEXNET_MASTER_MACS_AFTER):
            cost = nsctc_rot_costs(c, h, w, nf, k, s, p, self.n, self.ka, self.kb)
            cost["name"], cost["master_after_s"] = name, 2.0 * after / self.master_flops
            cost["nominal_s"] = cost["worker_flops"] / self.rate_flops
            self.layers.append(cost)


class Nic:
    """The master's NIC of one direction: processor sharing as a fluid with a virtual clock
    (sim/sim_link.c): V grows at rate/k bits per ns while k transfers are active, a
    transfer started at V0 with b bits finishes when V reaches V0 + b, the service event
    lands on the ns grid (rounded up) and the finished group fires in submission order.
    fcdcc delivers each finished transfer by an event at max(ceil(t), now) = now (the NIC
    adds no latency); here its event is triggered at once, which SimPy processes at now in
    the same order."""

    def __init__(self, env, rate_bps):
        self.env = env
        self.rate_ns = (rate_bps if math.isfinite(rate_bps) else 1e300) / 1e9
        self.active = []          # [tag, seq, event] lists, in submission order
        self.v, self.last, self.seq = 0.0, float(env.now), 0
        self.service = None       # the pending service timeout (a stale one is ignored)

    def _time_of(self, tag):
        if tag <= self.v:
            return self.last
        return self.last + (tag - self.v) * len(self.active) / self.rate_ns

    def _catch_up(self, force):
        now = float(self.env.now)
        while self.active:
            tag = min(x[0] for x in self.active)
            t = self._time_of(tag)
            if not (t <= now or force):
                self.v += (now - self.last) * self.rate_ns / len(self.active)
                self.last = now
                return
            force = False
            self.v, self.last = tag, min(t, now)
            done = [x for x in self.active if x[0] <= tag]  # already in submission order
            self.active = [x for x in self.active if x[0] > tag]
            if not self.active:
                self.v = 0.0
            for x in done:
                x[2].succeed()
        self.last = now

    def _reschedule(self):
        self.service = None
        if not self.active:
            return
        at = max(int(math.ceil(self._time_of(min(x[0] for x in self.active)))), self.env.now)
        ev = self.service = self.env.timeout(at - self.env.now)
        ev.callbacks.append(lambda _ev: self._on_service(ev))

    def _on_service(self, ev):
        if ev is not self.service:
            return  # superseded by a later submit or cancel
        self._catch_up(True)
        self._reschedule()

    def submit(self, nbytes, count=1):
        """count events, each firing when the NIC has carried nbytes of its transfer (one
        service event for transfers submitted together, as fcdcc's last reschedule)."""
        self._catch_up(False)
        out = []
        for _ in range(count):
            done = self.env.event()
            done.xfer = [self.v + nbytes * 8.0, self.seq, done]
            self.seq += 1
            self.active.append(done.xfer)
            out.append(done)
        self._reschedule()
        return out

    def cancel(self, done):
        if done.triggered:
            return  # served: the interrupted worker no longer waits for it
        self._catch_up(False)
        if not done.triggered:
            self.active.remove(done.xfer)
            if not self.active:
                self.v = 0.0
        self._reschedule()


class Layer:
    """One coded conv layer of one run: the state the master's decode rule reads."""

    def __init__(self, env, cost, n):
        self.env, self.cost, self.n = env, cost, n
        self.arrived, self.procs, self.done = [], [], env.event()
        self.w = [dict(status="cancelled", t_finish=None, t_busy=None, flops=0.0) for _ in range(n)]
        self.crit = None


def link_arrival_ns(env, t0_ns, nbytes, bps, lat_s):
    """runner/run_layer.c link_arrival: max(NIC done, start + bytes/link) + latency, then
    schedule_s's rounding (absolute time rounded up, never before now)."""
    t = env.now * 1e-9
    if math.isfinite(bps):
        t = max(t, t0_ns * 1e-9 + nbytes * 8.0 / bps)
    return max(ns_ceil(t + lat_s), env.now)


def worker(env, cl, L, j, nic_up, nic_down, up, rng):
    """Worker j of layer L, from the moment its upload `up` entered the to_worker NIC."""
    c, rec, xfer = L.cost, L.w[j], up
    t_arrive = None
    try:
        t_up0 = env.now
        yield xfer
        xfer = None
        yield env.timeout(link_arrival_ns(env, t_up0, c["bytes_up"], cl.down_bps, cl.lat_s) - env.now)
        t_arrive = env.now
        factor = cl.shift + rng.expovariate(cl.mu) if cl.law == "shifted-exp" else 1.0
        d = c["nominal_s"] * factor
        yield env.timeout(max(ns_ceil(t_arrive * 1e-9 + d), env.now) - env.now)
        t_comp_end = env.now
        rec["t_busy"], rec["flops"] = (t_comp_end - t_arrive) * 1e-9, c["worker_flops"]
        t_down0 = env.now
        xfer = nic_down.submit(c["bytes_down"])[0]
        yield xfer
        xfer = None
        yield env.timeout(link_arrival_ns(env, t_down0, c["bytes_down"], cl.up_bps, cl.lat_s) - env.now)
        rec["t_finish"] = env.now * 1e-9
        L.arrived.append(j)
        if len(L.arrived) == c["delta"] and not L.done.triggered:
            L.crit = (t_up0, t_arrive, t_comp_end, t_down0, env.now)
            for k, p in enumerate(L.procs):  # cancel every other worker
                if k != j and p.is_alive:
                    p.interrupt()
            L.done.succeed()
    except simpy.Interrupt:
        if xfer is not None:
            (nic_up if t_arrive is None else nic_down).cancel(xfer)
        if t_arrive is not None and rec["t_busy"] is None:
            rec["t_busy"] = (env.now - t_arrive) * 1e-9  # cut short


def one_run(cl, rng):
    """One inference; returns (latency_s, per-layer rows)."""
    env = simpy.Environment()
    nic_up, nic_down = Nic(env, cl.master_bps), Nic(env, cl.master_bps)
    rows = []

    def master():
        for c in cl.layers:
            L = Layer(env, c, cl.n)
            t_start = env.now
            t_enc = ns_ceil(c["encode_flops"] / cl.master_flops)
            yield env.timeout(t_enc)
            ups = nic_up.submit(c["bytes_up"], cl.n)
            L.procs = [env.process(worker(env, cl, L, j, nic_up, nic_down, ups[j], rng))
                       for j in range(cl.n)]
            yield L.done
            t_dec = ns_ceil(c["decode_flops"] / cl.master_flops)
            yield env.timeout(t_dec)
            for j in L.arrived:
                L.w[j]["status"] = "used"
            u0, arr, ce, d0, res = L.crit
            rows.append((c, L, c["encode_flops"] / cl.master_flops, (arr - u0) * 1e-9, (ce - arr) * 1e-9,
                         (res - d0) * 1e-9, c["decode_flops"] / cl.master_flops, (env.now - t_start) * 1e-9))
            if c["master_after_s"] > 0:
                yield env.timeout(ns_ceil(c["master_after_s"]))

    # until the master is done: the heap still holds superseded NIC service timeouts (SimPy
    # cannot withdraw a scheduled event; they are ignored when they fire)
    env.run(until=env.process(master()))
    return env.now * 1e-9, rows, next(env._eid)  # events scheduled (SimPy's own counter)


SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE runs (run_id INTEGER PRIMARY KEY, trial INTEGER NOT NULL, seed INTEGER NOT NULL,
  scheme TEXT NOT NULL, workers INTEGER, ka INTEGER, kb INTEGER, status TEXT NOT NULL,
  latency_s REAL, wall_s REAL);
CREATE TABLE layers (run_id INTEGER NOT NULL, layer_index INTEGER NOT NULL, layer_name TEXT,
  delta INTEGER, workers_used TEXT, t_encode_s REAL, t_to_worker_s REAL, t_compute_s REAL,
  t_to_master_s REAL, t_decode_s REAL, t_total_s REAL, status TEXT NOT NULL,
  PRIMARY KEY (run_id, layer_index)) WITHOUT ROWID;
CREATE TABLE workers (run_id INTEGER NOT NULL, layer_index INTEGER NOT NULL,
  worker INTEGER NOT NULL, bytes_to_worker INTEGER, bytes_to_master INTEGER, flops REAL, status TEXT NOT NULL,
  t_finish_s REAL, t_busy_s REAL, PRIMARY KEY (run_id, layer_index, worker)) WITHOUT ROWID;
"""


def simulate(cl, runs, seed, db_path, worker_rows, batch=256):
    if os.path.exists(db_path):
        raise SystemExit("peer-simpy: %s exists; give a new path" % db_path)
    db = sqlite3.connect(db_path, isolation_level=None)
    db.executescript(SCHEMA)
    R, Ly, W = [], [], []
    events, t0, c0 = 0, time.perf_counter(), time.process_time()

    def flush():
        db.execute("BEGIN")
        db.executemany("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)", R)
        db.executemany("INSERT INTO layers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", Ly)
        db.executemany("INSERT INTO workers VALUES (?,?,?,?,?,?,?,?,?)", W)
        db.execute("COMMIT")
        R.clear(), Ly.clear(), W.clear()

    for trial in range(runs):
        w0 = time.perf_counter()
        rng = random.Random(seed * 1000003 + trial)
        lat, rows, ev = one_run(cl, rng)
        events += ev
        rid = trial + 1
        for li, (c, L, enc, up, comp, down, dec, tot) in enumerate(rows):
            used = ",".join(str(j) for j in sorted(L.arrived))
            Ly.append((rid, li, c["name"], c["delta"], used, enc, up, comp, down, dec, tot, "ok"))
            if worker_rows:
                for j, r in enumerate(L.w):
                    W.append((rid, li, j, c["bytes_up"], c["bytes_down"], r["flops"],
                              r["status"], r["t_finish"], r["t_busy"]))
        R.append((rid, trial, seed, "nsctc-rot", cl.n, cl.ka, cl.kb, "ok", lat,
                  time.perf_counter() - w0))
        if len(R) >= batch:
            flush()
    flush()
    db.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("peer-simpy: %d runs, %d SimPy events (%.0f per run), %.2f s wall, %.2f s CPU: "
          "%.1f runs/s and %.0f events/s of CPU -> %s" %
          (runs, events, events / runs, wall, cpu, runs / cpu, events / cpu, db_path))


# ---- the agreement check ----------------------------------------------------------------

def fcdcc_cmd(fcdcc, scenario, runs, seed, out, cond, sets=()):
    cmd = [fcdcc, "run", scenario, "--out", out, "--seed", str(seed), "-q",
           "--set", "coding.scheme=nsctc-rot", "--set", "run.compute=model",
           "--set", "run.trials=%d" % runs, "--set", "run.cond=%s" % cond]
    for kv in sets:
        cmd += ["--set", kv]
    return cmd


def peer_cmd(scenario, runs, seed, db, sets=(), worker_rows=True):
    cmd = [sys.executable, os.path.abspath(__file__), "--scenario", scenario, "--runs", str(runs),
           "--seed", str(seed), "--db", db]
    for kv in sets:
        cmd += ["--set", kv]
    if not worker_rows:
        cmd.append("--no-worker-rows")
    return cmd


def run_child(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode:
        raise SystemExit("peer-simpy: %s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.strip()))


def only_db(d):
    """The one database `fcdcc run --out d` wrote (named after the scenario's [run] name)."""
    dbs = [f for f in os.listdir(d) if f.endswith(".db")]
    if len(dbs) != 1:
        raise SystemExit("peer-simpy: expected one database in %s, found %s" % (d, dbs))
    return os.path.join(d, dbs[0])


def read_db(path, fcdcc):
    db = sqlite3.connect(path)
    ok = "status = 'ok'" if fcdcc else "1"
    lat = [r[0] for r in db.execute("SELECT latency_s FROM runs WHERE %s ORDER BY trial" % ok)]
    layers = {}
    for li, t in db.execute("SELECT layer_index, t_total_s FROM layers ORDER BY run_id, layer_index"):
        layers.setdefault(li, []).append(t)
    db.close()
    return lat, layers


def mean_ci(x):
    m = statistics.fmean(x)
    se = statistics.stdev(x) / math.sqrt(len(x))
    return m, se


def quantile(s, p):
    """Type-7 quantile of a sorted list (as fcdcc report)."""
    h = (len(s) - 1) * p
    lo = int(math.floor(h))
    return s[lo] + (h - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo])


def p95_ci(x):
    """The p95 and its distribution-free 95% interval (order statistics at the binomial
    ranks n p -/+ 1.96 sqrt(n p (1-p)))."""
    s, n, p = sorted(x), len(x), 0.95
    half = 1.96 * math.sqrt(n * p * (1 - p))
    lo, hi = max(0, int(math.floor(n * p - half)) - 1), min(n - 1, int(math.ceil(n * p + half)) - 1)
    return quantile(s, p), s[lo], s[hi]


def ks_d(a, b):
    a, b = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            i += 1
        else:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    return d


# The master's NIC binds when master_bps / k is below a worker link (1e9) for k transfers
# at once: at 3e8 even one download is NIC-bound, and the results of a layer, spread over
# its workers' compute times, overlap on it, so fair sharing decides their times.
NIC_BOUND = "network.master_bps=3e8"


def run_pair(args, tmp, tag, runs, sets):
    """fcdcc and the peer on the same scenario, overrides and seed: their (latency, layers)."""
    fd, pd = os.path.join(tmp, tag), os.path.join(tmp, tag + "-peer.db")
    os.mkdir(fd)
    sets = list(args.set) + list(sets)
    run_child(fcdcc_cmd(args.check, args.scenario, runs, args.seed, fd, "none", sets))
    run_child(peer_cmd(args.scenario, runs, args.seed, pd, sets))
    return read_db(only_db(fd), True), read_db(pd, False)


def check_exact(args, tmp, tag, sets, fails):
    """Deterministic workers: every run's and layer's time equal to the nanosecond."""
    (fl, fly), (pl, ply) = run_pair(args, tmp, tag, 3, ["latency.model=deterministic"] + sets)
    same = len(fl) == len(pl) == 3 and sorted(fly) == sorted(ply)
    worst = max([abs(a - b) for a, b in zip(fl, pl)] +
                [abs(a - b) for li in fly for a, b in zip(fly[li], ply.get(li, []))])
    print("deterministic workers%s: fcdcc %.9f s, SimPy %.9f s end to end; largest "
          "difference over runs and layers %.3g ns" %
          (" (" + ", ".join(sets) + ")" if sets else "", fl[0], pl[0], worst * 1e9))
    if not same or worst > 1.5e-9:
        fails.append("deterministic times differ%s (%.3g ns)" % (sets or "", worst * 1e9))


def check_law(args, cl, tmp, tag, sets, fails):
    """Shifted-exponential workers: mean, p95, per-layer means and the whole distribution."""
    (fl, fly), (pl, ply) = run_pair(args, tmp, tag, args.runs, sets)
    if len(fl) != args.runs or len(pl) != args.runs:
        fails.append("runs: fcdcc %d ok, SimPy %d of %d" % (len(fl), len(pl), args.runs))
        return
    print("%s workers%s, %d runs each (95%% intervals):" %
          (cl.law, " (" + ", ".join(sets) + ")" if sets else "", args.runs))
    print("  %-18s %-32s %-32s %s" % ("statistic", "fcdcc", "SimPy peer", "z of the difference"))

    def show(name, a, alo, ahi, b, blo, bhi, z):
        print("  %-18s %.6f [%.6f, %.6f]   %.6f [%.6f, %.6f]   %+.2f" %
              (name, a, alo, ahi, b, blo, bhi, z))
        if abs(z) > args.z_max:
            fails.append("%s%s: |z| = %.2f > %g" % (name, sets or "", abs(z), args.z_max))

    def row(name, xa, xb):
        (ma, sa), (mb, sb) = mean_ci(xa), mean_ci(xb)
        show(name, ma, ma - 1.96 * sa, ma + 1.96 * sa, mb, mb - 1.96 * sb, mb + 1.96 * sb,
             (ma - mb) / math.hypot(sa, sb))
        return ma, sa, mb, sb

    ma, sa, mb, sb = row("mean e2e (s)", fl, pl)
    qa, qb = p95_ci(fl), p95_ci(pl)
    show("p95 e2e (s)", *qa, *qb,
         (qa[0] - qb[0]) / math.hypot((qa[2] - qa[1]) / 3.92, (qb[2] - qb[1]) / 3.92))
    for li in sorted(fly):
        row("mean %s (s)" % cl.layers[li]["name"], fly[li], ply[li])
    d = ks_d(fl, pl)
    dcrit = 1.95 * math.sqrt(2.0 / args.runs)  # two-sample KS at 0.1 %
    print("  two-sample Kolmogorov-Smirnov D = %.4f (0.1%% critical value %.4f)" % (d, dcrit))
    if d > dcrit:
        fails.append("KS D%s = %.4f > %.4f" % (sets or "", d, dcrit))
    inside = (qa[1] <= qb[0] <= qa[2] and qb[1] <= qa[0] <= qb[2] and
              abs(ma - mb) <= 1.96 * min(sa, sb))
    print("  each estimate inside the other's 95%% interval (mean and p95): %s" %
          ("yes" if inside else "no"))


def check(args, cl):
    fails = []
    with tempfile.TemporaryDirectory(prefix="peer-simpy-") as tmp:
        check_exact(args, tmp, "det", [], fails)
        check_exact(args, tmp, "det-nic", [NIC_BOUND], fails)
        check_law(args, cl, tmp, "law", [], fails)
        if not args.quick:
            check_law(args, cl, tmp, "law-nic", [NIC_BOUND], fails)
    if fails:
        print("MISMATCH: " + "; ".join(fails))
        return 1
    print("agreement: the same protocol (times equal to the ns with deterministic workers; "
          "|z| <= %g and KS below its critical value with random ones)" % args.z_max)
    return 0


# ---- the speed comparison ---------------------------------------------------------------

def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run_child(cmd)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def compare(args):
    kinds = [("fcdcc run, cond = used", lambda d, i: fcdcc_cmd(args.compare, args.scenario, args.runs, args.seed, d, "used", args.set)),
             ("fcdcc run, cond = none", lambda d, i: fcdcc_cmd(args.compare, args.scenario, args.runs, args.seed, d, "none", args.set)),
             ("SimPy peer", lambda d, i: peer_cmd(args.scenario, args.runs, args.seed,
                                                  os.path.join(d, "peer.db"), args.set, not args.no_worker_rows))]
    times = {k: [] for k, _ in kinds}
    with tempfile.TemporaryDirectory(prefix="peer-simpy-") as tmp:
        for rep in range(args.reps):  # interleaved, so load drifts hit every command alike
            for ki, (k, mk) in enumerate(kinds):
                d = os.path.join(tmp, "%d-%d" % (rep, ki))
                os.mkdir(d)
                times[k].append(timed(mk(d, rep)))
    print("%d model-only runs of %s (nsctc-rot, %d workers, %dx%d), median of %d, "
          "each a whole process writing its SQLite file:" %
          (args.runs, os.path.relpath(args.scenario), args.n, args.ka, args.kb, args.reps))
    med = {}
    for k, _ in kinds:
        w = statistics.median(t[0] for t in times[k])
        c = statistics.median(t[1] for t in times[k])
        med[k] = (w, c)
        print("  %-24s %8.1f runs/s wall (%.2f s; spread %.2f-%.2f s), %8.1f runs/s CPU" %
              (k, args.runs / w, w, min(t[0] for t in times[k]), max(t[0] for t in times[k]),
               args.runs / c))
    pw, pc = med["SimPy peer"]
    for k in ("fcdcc run, cond = used", "fcdcc run, cond = none"):
        print("  ratio %-24s / SimPy: %.2fx wall, %.2fx CPU" % (k, pw / med[k][0], pc / med[k][1]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=QUICKSTART, help="INI file (default scenarios/quickstart.ini)")
    ap.add_argument("--runs", type=int, default=None, help="runs (simulate 1000, --check 3000, --compare 2000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", help="new SQLite file to write the runs to")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a scenario key, as fcdcc run --set (repeatable)")
    ap.add_argument("--no-worker-rows", action="store_true", help="write runs and layers rows only")
    ap.add_argument("--check", metavar="FCDCC", help="agreement with this fcdcc program")
    ap.add_argument("--z-max", type=float, default=3.29, help="--check: largest |z| accepted (3.29: 0.1%%)")
    ap.add_argument("--quick", action="store_true", help="--check: one random case, not two")
    ap.add_argument("--compare", metavar="FCDCC", help="runs/s beside this fcdcc program")
    ap.add_argument("--reps", type=int, default=3, help="--compare: repetitions (the median is printed)")
    args = ap.parse_args()
    if simpy is None:
        print("peer-simpy: SimPy 3 is not installed (Debian: apt-get install python3-simpy3; "
              "python3-simpy is SimPy 2, module SimPy): skipped", file=sys.stderr)
        return 77
    if sum(x is not None for x in (args.db, args.check, args.compare)) != 1:
        ap.error("give exactly one of --db, --check, --compare")
    if args.runs is not None and args.runs < (10 if args.check else 1):
        ap.error("--runs %d: at least %d" % (args.runs, 10 if args.check else 1))
    if args.reps < 1:
        ap.error("--reps %d: at least 1" % args.reps)
    cl = Cluster(args.scenario, args.set)
    args.n, args.ka, args.kb = cl.n, cl.ka, cl.kb
    if args.check:
        args.runs = args.runs or 3000
        return check(args, cl)
    if args.compare:
        args.runs = args.runs or 2000
        return compare(args)
    simulate(cl, args.runs or 1000, args.seed, args.db, not args.no_worker_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
