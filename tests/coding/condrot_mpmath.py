#!/usr/bin/python3
"""condrot_mpmath.py: nsctc-rot's structured condition number against an independent
40-digit SVD (mpmath) of the complex Vandermonde V[i][e] = w^(j_i e), w = exp(2 pi i / q),
on seeded random worker sets printed by condrot_dump. The structured path must agree to
16 d eps cond relative (the backward error of its Householder step); the dense path's
error (eps cond^2 below 1e6) is printed beside it, not checked. Exit 77 (skipped) when
mpmath is absent. Usage: condrot_mpmath.py DUMP n ka kb sets seed."""
import subprocess
import sys

try:
    import mpmath
except ImportError:
    print("skipped: mpmath is not installed (Debian: python3-mpmath)")
    sys.exit(77)

dump, n, ka, kb, sets, seed = sys.argv[1], *map(int, sys.argv[2:7])
mpmath.mp.dps = 40
out = subprocess.run([dump, str(n), str(ka), str(kb), str(sets), str(seed)],
                     check=True, capture_output=True, text=True).stdout
eps = 2.0 ** -52
bad = 0
for line in out.splitlines():
    f = line.split()
    ks, kd, ids = float(f[0]), float(f[1]), [int(x) for x in f[2:]]
    d = len(ids)
    v = mpmath.matrix(d, d)
    for i, j in enumerate(ids):
        for e in range(d):
            v[i, e] = mpmath.expjpi(mpmath.mpf(2 * ((j * e) % n)) / n)
    sv = mpmath.svd_c(v, compute_uv=False)
    k = float(max(sv) / min(sv))
    rs, rd = abs(ks - k) / k, abs(kd - k) / k
    ok = rs <= 16 * d * eps * k
    bad += not ok
    print("cond %.6e  structured rel %.2e  dense rel %.2e  %s" % (k, rs, rd, "ok" if ok else "FAIL"))
sys.exit(1 if bad else 0)
