#!/usr/bin/python3
"""bench-vs-torch.py: fcdcc's convolution against PyTorch's CPU conv2d, side by side.

A maintainer's tool (needs Debian's python3-torch; nothing in the build or the tests needs
it). For every conv layer of AlexNet, VGG-16 and ResNet-18 (or --quick: a few), it runs
`fcdcc bench conv --json` (warm, one thread, best of R, thread CPU time, the algorithm fcdcc
picks automatically) and times torch.nn.functional.conv2d on the same shape and dtype the
same way (torch.set_num_threads(1), one warm-up call, best of R, time.process_time: the CPU
of every thread of the process, since oneDNN may run helper threads), one
layer after the other in the same run, and prints time ratios: torch / fcdcc > 1 means
fcdcc is faster. Inputs are batch 1, as in fcdcc's per-image inference.

  /usr/bin/python3 scripts/bench-vs-torch.py [--fcdcc build/cli/fcdcc] [--quick] [--repeat R]
"""
import argparse
import json
import os
import subprocess
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench-vs-torch.py: needs PyTorch (apt-get install python3-torch)")

# (model, layer, C, H, W, N, K, stride, pad): the conv layers of fcdcc's built-in models
# (models/zoo/*.model), as `fcdcc models NAME` lists them.
LAYERS = [
    ("alexnet", "conv1", 3, 224, 224, 64, 11, 4, 2),
    ("alexnet", "conv2", 64, 27, 27, 192, 5, 1, 2),
    ("alexnet", "conv3", 192, 13, 13, 384, 3, 1, 1),
    ("alexnet", "conv4", 384, 13, 13, 256, 3, 1, 1),
    ("alexnet", "conv5", 256, 13, 13, 256, 3, 1, 1),
    ("vgg16", "conv1_1", 3, 224, 224, 64, 3, 1, 1),
    ("vgg16", "conv1_2", 64, 224, 224, 64, 3, 1, 1),
    ("vgg16", "conv2_1", 64, 112, 112, 128, 3, 1, 1),
    ("vgg16", "conv2_2", 128, 112, 112, 128, 3, 1, 1),
    ("vgg16", "conv3_1", 128, 56, 56, 256, 3, 1, 1),
    ("vgg16", "conv3_2", 256, 56, 56, 256, 3, 1, 1),
    ("vgg16", "conv4_1", 256, 28, 28, 512, 3, 1, 1),
    ("vgg16", "conv4_2", 512, 28, 28, 512, 3, 1, 1),
    ("vgg16", "conv5_1", 512, 14, 14, 512, 3, 1, 1),
    ("resnet18", "conv1", 3, 224, 224, 64, 7, 2, 3),
    ("resnet18", "layer1.0.conv1", 64, 56, 56, 64, 3, 1, 1),
    ("resnet18", "layer2.0.conv1", 64, 56, 56, 128, 3, 2, 1),
    ("resnet18", "layer2.0.conv2", 128, 28, 28, 128, 3, 1, 1),
    ("resnet18", "layer3.0.conv2", 256, 14, 14, 256, 3, 1, 1),
    ("resnet18", "layer4.0.conv2", 512, 7, 7, 512, 3, 1, 1),
    ("resnet18", "layer4.0.downsample.0", 256, 14, 14, 512, 1, 2, 0),
]
QUICK = {"conv2", "conv3", "conv3_2", "conv4_2", "layer2.0.conv2", "layer4.0.conv2"}


def torch_best(c, h, w, n, k, s, p, dtype, reps):
    x = torch.rand(1, c, h, w, dtype=dtype) - 0.5
    f = torch.rand(n, c, k, k, dtype=dtype) - 0.5
    with torch.no_grad():
        F.conv2d(x, f, stride=s, padding=p)
        best = float("inf")
        for _ in range(reps):
            t0 = time.process_time()
            F.conv2d(x, f, stride=s, padding=p)
            best = min(best, time.process_time() - t0)
    return best


def fcdcc_best(exe, c, h, w, n, k, s, p, prec, reps):
    out = subprocess.run(
        [exe, "bench", "conv", "--shape", f"{c},{h},{w},{n},{k}", "--stride", str(s),
         "--pad", str(p), "--precision", prec, "--repeat", str(reps), "--json"],
        check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    return j["best_s"], j["algorithm"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fcdcc", default="build/cli/fcdcc")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    # OpenBLAS's kernels for fcdcc's processes: as scripts/blas-env.sh, a user's value kept.
    core = subprocess.run([a.fcdcc, "--blas-core"], check=True, capture_output=True,
                          text=True).stdout.strip()
    if core and "OPENBLAS_CORETYPE" not in os.environ:
        os.environ["OPENBLAS_CORETYPE"] = core
        print(f"OpenBLAS does not pick this CPU's kernels by itself: OPENBLAS_CORETYPE={core} "
              "for fcdcc")
    print(f"torch {torch.__version__}, 1 thread, best of {a.repeat}, CPU time (fcdcc: its thread; torch: its process); "
          "ratio = torch time / fcdcc time")
    print(f"{'model':9} {'layer':21} {'dtype':5} {'fcdcc ms':>9} {'torch ms':>9} "
          f"{'ratio':>6}  fcdcc algorithm")
    ratios = []
    for (m, name, c, h, w, n, k, s, p) in LAYERS:
        if a.quick and name not in QUICK:
            continue
        for prec, dt in (("fp32", torch.float32), ("fp64", torch.float64)):
            tf, algo = fcdcc_best(a.fcdcc, c, h, w, n, k, s, p, prec, a.repeat)
            tt = torch_best(c, h, w, n, k, s, p, dt, a.repeat)
            ratios.append((tt / tf, m, name, prec))
            print(f"{m:9} {name:21} {prec:5} {tf * 1e3:9.3f} {tt * 1e3:9.3f} {tt / tf:6.2f}  "
                  f"{algo}")
    for prec in ("fp32", "fp64"):
        r = sorted(x[0] for x in ratios if x[3] == prec)
        if r:
            print(f"{prec}: torch/fcdcc from {r[0]:.2f} to {r[-1]:.2f} (median "
                  f"{r[len(r) // 2]:.2f}) over {len(r)} layers")


if __name__ == "__main__":
    main()
