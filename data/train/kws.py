"""Train the nnq KWS example networks on the synthesized KWS set.

Features are the HelloEdge 49x10 MFCC maps computed by nnq/audio (via
data/tools/features), read from build/kws/features.bin + index.csv.

  python3 train/kws.py --net dscnn --out build/kws-dscnn
  python3 train/kws.py --net cnn   --out build/kws-cnn
  python3 train/kws.py --patterns build/kws-patterns   # pattern subset

Run from data/. Uses Debian's /usr/bin/python3 (python3-torch, CPU).
"""

import argparse
import csv
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CLASSES = ["silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
INPUT = [1, 49, 10]


def load(data_dir):
    with open(os.path.join(data_dir, "index.csv")) as f:
        rows = list(csv.DictReader(f))
    x = np.fromfile(os.path.join(data_dir, "features.bin"), dtype="<f4").reshape(len(rows), *INPUT)
    y = np.array([int(r["label"]) for r in rows], dtype=np.int64)
    split = np.array([r["split"] for r in rows])
    voice = np.array([r["voice"] for r in rows])
    assert [CLASSES[i] for i in y[:1]] == [rows[0]["class"]]
    return rows, x, y, split, voice


class DSCNN(nn.Module):
    """DS-CNN-S of Hello Edge: conv 64 10x4/2 (TF "same") + 4 DS blocks."""

    PADS = [4, 1, 5, 1]  # [top, left, bottom, right]: TF "same" for 49x10, k 10x4, s 2

    def __init__(self, n=64, blocks=4, classes=12):
        super().__init__()
        t, l, b, r = self.PADS
        self.pad = nn.ZeroPad2d((l, r, t, b))
        self.conv1 = nn.Conv2d(1, n, (10, 4), stride=2)
        self.bn1 = nn.BatchNorm2d(n)
        self.dw = nn.ModuleList([nn.Conv2d(n, n, 3, padding=1, groups=n) for _ in range(blocks)])
        self.dwbn = nn.ModuleList([nn.BatchNorm2d(n) for _ in range(blocks)])
        self.pw = nn.ModuleList([nn.Conv2d(n, n, 1) for _ in range(blocks)])
        self.pwbn = nn.ModuleList([nn.BatchNorm2d(n) for _ in range(blocks)])
        self.fc = nn.Linear(n, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(self.pad(x))))
        for dw, dwbn, pw, pwbn in zip(self.dw, self.dwbn, self.pw, self.pwbn):
            x = torch.relu(dwbn(dw(x)))
            x = torch.relu(pwbn(pw(x)))
        x = x.mean(dim=(2, 3))
        return self.fc(x)

    def export(self, e):
        e.conv2d("conv1", self.conv1, self.PADS)
        e.batchnorm("bn1", self.bn1)
        e.layer("relu1", "relu")
        for i, (dw, dwbn, pw, pwbn) in enumerate(zip(self.dw, self.dwbn, self.pw, self.pwbn), 1):
            e.conv2d(f"dw{i}", dw, [1, 1, 1, 1])
            e.batchnorm(f"dw{i}_bn", dwbn)
            e.layer(f"dw{i}_relu", "relu")
            e.conv2d(f"pw{i}", pw, "valid")
            e.batchnorm(f"pw{i}_bn", pwbn)
            e.layer(f"pw{i}_relu", "relu")
        e.layer("avgpool", "avgpool2d", {"global": True})
        e.layer("flatten", "flatten")
        e.dense("fc", self.fc)
        e.layer("softmax", "softmax")


class CNN(nn.Module):
    """Plain KWS CNN: conv 5x3 → maxpool 2 → conv 3x3 → maxpool 2 → dense 64 → dense 12."""

    def __init__(self, classes=12):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, (5, 3), padding=(2, 1))   # 49x10
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)            # 24x5
        self.fc1 = nn.Linear(32 * 12 * 2, 64)
        self.fc2 = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)   # 24x5
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)   # 12x2
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)

    def export(self, e):
        e.conv2d("conv1", self.conv1, [2, 1, 2, 1])
        e.layer("relu1", "relu")
        e.layer("pool1", "maxpool2d", {"kernel": [2, 2], "strides": [2, 2]})
        e.conv2d("conv2", self.conv2, [1, 1, 1, 1])
        e.layer("relu2", "relu")
        e.layer("pool2", "maxpool2d", {"kernel": [2, 2], "strides": [2, 2]})
        e.layer("flatten", "flatten")
        e.dense("fc1", self.fc1)
        e.layer("relu3", "relu")
        e.dense("fc2", self.fc2)
        e.layer("softmax", "softmax")


def augment(xb):
    """SpecAugment-style masking: one time mask (<=6 frames) per pattern."""
    xb = xb.clone()
    n = xb.shape[0]
    w = torch.randint(0, 7, (n,))
    s = torch.randint(0, 49, (n,))
    t = torch.arange(49).view(1, 49)
    m = (t >= s.view(n, 1)) & (t < (s + w).view(n, 1))
    xb[:, 0][m] = 0.0
    return xb


def write_patterns(args, x, y, split, voice):
    """All test patterns, plus seeded subsets of val and train (calibration)."""
    g = np.random.default_rng(2024)
    idx = {}
    for s, n in (("train", args.train_subset), ("val", args.val_subset), ("test", None)):
        i = np.flatnonzero(split == s)
        if n is not None and n < len(i):
            i = np.sort(g.choice(i, n, replace=False))
        idx[s] = i
    order = np.concatenate([idx["train"], idx["val"], idx["test"]])
    common.write_patterns(args.patterns, x[order], y[order], list(split[order]))
    with open(os.path.join(args.patterns, "voices.csv"), "w") as f:
        f.write("pattern,split,voice\n")
        for k, i in enumerate(order):
            f.write(f"{k},{split[i]},{voice[i]}\n")
    print(f"patterns: train {len(idx['train'])} val {len(idx['val'])} test {len(idx['test'])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="build/kws")
    ap.add_argument("--net", choices=["dscnn", "cnn"])
    ap.add_argument("--out")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--patterns", help="write the pattern subset here instead of training")
    ap.add_argument("--train-subset", type=int, default=2000)
    ap.add_argument("--val-subset", type=int, default=1000)
    args = ap.parse_args()
    common.setup_threads()
    common.seed_everything(args.seed)
    rows, x, y, split, voice = load(args.data)
    if args.patterns:
        write_patterns(args, x, y, split, voice)
        return
    tr, va, te = (split == "train"), (split == "val"), (split == "test")
    assert not (set(voice[te]) & set(voice[tr | va])), "test voices leak into train/val"
    print(f"{args.net}: train {tr.sum()} val {va.sum()} test {te.sum()}")
    model = DSCNN() if args.net == "dscnn" else CNN()
    name = "kws-dscnn" if args.net == "dscnn" else "kws-cnn"
    t0 = time.time()
    best = common.train(model, x[tr], y[tr], x[va], y[va], args.epochs, args.lr, augment=augment)
    correct, pred = common.evaluate(model, x[te], y[te])
    acc = common.write_accuracy(args.out, correct, te.sum(), {
        "network": name, "val_accuracy": round(best, 4), "epochs": args.epochs})
    print(f"trained in {time.time() - t0:.0f} s")
    print(acc)
    cm = np.zeros((12, 12), dtype=int)
    for t, p in zip(y[te], pred):
        cm[t, p] += 1
    print("confusion (rows true):\n" + "\n".join(f"{CLASSES[i]:>8} " + " ".join(f"{v:4d}" for v in cm[i]) for i in range(12)))
    e = common.Exporter(name, INPUT, CLASSES)
    model.export(e)
    e.write(args.out)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))


if __name__ == "__main__":
    main()
