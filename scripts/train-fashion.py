#!/usr/bin/python3
"""Train the two shipped Fashion-MNIST networks and check fcdcc against PyTorch.

A maintainer tool, not a dependency of the build, the quickstart or CI. It needs Debian's
python3-torch, python3-onnx and python3-numpy (run it with /usr/bin/python3) and the
dataset-fashion-mnist package.

  scripts/train-fashion.py train [--out models/trained]
      trains, seeded, LeNet-5 and ResNet-8 (a small residual network with batch
      normalisation) on the training split, on one CPU thread, and exports both to ONNX
      (opset 13, which Debian's onnx 1.12 reads): models/trained/lenet5-fashion.onnx and
      models/trained/resnet8-fashion.onnx.
  scripts/train-fashion.py check --fcdcc build/cli/fcdcc [--out models/trained]
      computes PyTorch's top-1 on the 10000 test images, runs `fcdcc infer --data` on the
      same images, and prints both top-1 accuracies and the number of images whose argmax
      differs (must be 0); then compares fcdcc's logits with PyTorch's for test image 0, and
      the first conv layer's activations (`fcdcc infer --dump-layer 0`).

Normalisation (as the scenarios state it in [data]): x = (pixel / 255 - 0.2860) / 0.3530.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
SEED = 20240601


def read_idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    rank = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(split):
    pre = "train" if split == "train" else "t10k"
    if not os.path.isdir(DATA):
        sys.exit(f"{DATA} not found: apt-get install dataset-fashion-mnist")
    x = read_idx(f"{DATA}/{pre}-images-idx3-ubyte.gz").astype(np.float32)
    y = read_idx(f"{DATA}/{pre}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x / 255.0 - MEAN) / STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y.copy())


class LeNet5(nn.Module):
    """LeNet-5 in the zoo's modern form, on 28x28 inputs (the first conv pads by 2)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.conv3 = nn.Conv2d(16, 120, 5)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(F.relu(self.conv3(x)), 1)
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.short is None else self.short(x)
        return F.relu(out + sc)


class ResNet8(nn.Module):
    """Stem conv + three basic blocks (16, 32, 64 channels; the last two with projection
    shortcuts) + global average pooling + fc: 7 convolutions and one fc layer."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.blocks = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


NETS = {"lenet5": (LeNet5, 3, 60000), "resnet8": (ResNet8, 2, 20000)}


def path_of(out, name):
    return os.path.join(out, f"{name}-fashion.onnx")


def train(args):
    torch.set_num_threads(1)
    xtr, ytr = load("train")
    for name, (cls, epochs, subset) in NETS.items():
        torch.manual_seed(SEED)
        g = torch.Generator().manual_seed(SEED)
        net = cls()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for ep in range(epochs):
            net.train()
            perm = torch.randperm(xtr.shape[0], generator=g)[:subset]
            tot = 0.0
            for i in range(0, subset, 128):
                idx = perm[i:i + 128]
                opt.zero_grad()
                loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                tot += loss.item() * len(idx)
            print(f"{name}: epoch {ep + 1}/{epochs} loss {tot / subset:.4f}", flush=True)
        net.eval()
        os.makedirs(args.out, exist_ok=True)
        torch.onnx.export(net, torch.zeros(1, 1, 28, 28), path_of(args.out, name),
                          input_names=["image"], output_names=["logits"], opset_version=13,
                          do_constant_folding=True)
        print(f"{name}: wrote {path_of(args.out, name)}", flush=True)


def check(args):
    torch.set_num_threads(1)
    xte, yte = load("test")
    for name in NETS:
        # PyTorch's answer for exactly the shipped file: the module rebuilt with its weights
        net = load_module(name, path_of(args.out, name))
        with torch.no_grad():
            logits = torch.cat([net(xte[i:i + 500]) for i in range(0, xte.shape[0], 500)])
        pt_pred = logits.argmax(1).numpy()
        pt_top1 = float((pt_pred == yte.numpy()).mean())
        with tempfile.TemporaryDirectory() as tmp:
            lpath = os.path.join(tmp, "logits.npy")
            cmd = [args.fcdcc, "infer", "--model", path_of(args.out, name), "--data",
                   "fashion-mnist", "--split", "test", "--images", "10000", "--mean",
                   str(MEAN), "--std", str(STD), "--out", lpath]
            res = subprocess.run(cmd, check=True, capture_output=True, text=True)
            summary = json.loads(res.stdout)
            fc_logits = np.load(lpath)
        fc_pred = fc_logits.argmax(1)
        fc_top1 = float((fc_pred == yte.numpy()).mean())
        diff = int((fc_pred != pt_pred).sum())
        err0 = float(np.abs(fc_logits[0] - logits[0].numpy()).max())
        rel0 = err0 / float(np.abs(logits[0].numpy()).max())
        print(f"{name}: PyTorch top-1 {pt_top1:.4f}  fcdcc top-1 {fc_top1:.4f} "
              f"(fcdcc says {summary.get('top1')})  argmax differs on {diff} of {len(yte)} images; "
              f"image 0 logits max |fcdcc - PyTorch| = {err0:.3g} (relative {rel0:.3g})")
        # one layer's activations: the first conv's output (bias added, before the relu)
        with tempfile.TemporaryDirectory() as tmp:
            apath, xpath = os.path.join(tmp, "a.npy"), os.path.join(tmp, "x.npy")
            np.save(xpath, xte[0].numpy().astype(np.float64))
            subprocess.run([args.fcdcc, "infer", "--model", path_of(args.out, name), "--input",
                            xpath, "--dump-layer", "0", "--dump-out", apath], check=True,
                           capture_output=True, text=True)
            act = np.load(apath)
        first_conv = [mo for mo in net.modules() if isinstance(mo, nn.Conv2d)][0]
        with torch.no_grad():
            ref = first_conv(xte[0:1])[0].numpy()
        aerr = float(np.abs(act - ref).max())
        print(f"{name}: layer 0 (first conv) activations max |fcdcc - PyTorch| = {aerr:.3g} "
              f"(relative {aerr / float(np.abs(ref).max()):.3g})")
        if diff:
            sys.exit(f"{name}: fcdcc and PyTorch disagree on {diff} images")


def load_module(name, path):
    """The network `name` with the weights of the ONNX file at `path`. torch.onnx folds
    each batchnorm into its conv, so the module is rebuilt without batchnorm: every conv
    gets the file's (folded) kernel and bias, matched by shape in graph order."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    convs, gemms = [], []
    for nd in m.graph.node:
        if nd.op_type == "Conv":
            w = inits[nd.input[1]]
            b = inits[nd.input[2]] if len(nd.input) > 2 else np.zeros(w.shape[0], np.float32)
            convs.append((w, b))
        elif nd.op_type == "Gemm":
            gemms.append((inits[nd.input[1]], inits[nd.input[2]]))
    net = NETS[name][0]()
    mods = [mo for mo in net.modules() if isinstance(mo, nn.Conv2d)]
    # graph order = forward order; module order differs for the shortcut (defined after
    # conv2, run after it too), so both orders agree for these two networks
    assert len(mods) == len(convs), (len(mods), len(convs))
    for mo, (w, b) in zip(mods, convs):
        mo.weight.data = torch.from_numpy(w.copy())
        mo.bias = nn.Parameter(torch.from_numpy(b.copy()))
    lins = [mo for mo in net.modules() if isinstance(mo, nn.Linear)]
    for mo, (w, b) in zip(lins, gemms):
        mo.weight.data = torch.from_numpy(w.copy())
        mo.bias.data = torch.from_numpy(b.copy())
    for mo in net.modules():
        if isinstance(mo, nn.BatchNorm2d):  # folded into the conv: make it the identity
            mo.reset_parameters()
            mo.running_mean.zero_()
            mo.running_var.fill_(1 - mo.eps)
    net.eval()
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["train", "check"])
    ap.add_argument("--out", default="models/trained")
    ap.add_argument("--fcdcc", default="build/cli/fcdcc")
    args = ap.parse_args()
    train(args) if args.what == "train" else check(args)


if __name__ == "__main__":
    main()
