"""Train the nnq recurrent KWS example (issue 9): a GRU over the 49 MFCC
frames, a dense layer on its last state, softmax.

Same features, splits, augmentation and training loop as train/kws.py
(the HelloEdge 49x10 MFCC maps of build/kws, computed by nnq/audio). The
model reads the NCHW [1, 49, 10] pattern as 49 time steps of 10 MFCC
coefficients (PyTorch: x[:, 0] fed to a batch-first nn.GRU), which is how
nnq's gru op reads a [T, W, C] = [49, 10, 1] map.

  python3 train/kws_gru.py --out build/kws-gru [--hidden 64] [--epochs 20]

Run from data/. Uses Debian's /usr/bin/python3 (python3-torch, CPU). Writes
the same intermediate export as the other scripts (model.json, one .bin per
tensor, accuracy.json); tools/export turns it into kws-gru/model.arrow.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import kws  # noqa: E402  (load, augment, CLASSES, INPUT)


class GRUNet(nn.Module):
    """GRU(10 -> hidden) over 49 frames, last h -> Linear(hidden, 12)."""

    def __init__(self, hidden=64, classes=12, features=10):
        super().__init__()
        self.hidden = hidden
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        seq = x[:, 0]               # [N, 1, 49, 10] -> [N, 49, 10]: 49 steps of 10 features
        _, h = self.gru(seq)        # h: [1, N, hidden], the last step's state
        return self.fc(h[0])

    def export(self, e):
        g = self.gru
        e.layer("gru", "gru", {"hidden": self.hidden}, {
            "weight_ih": g.weight_ih_l0, "weight_hh": g.weight_hh_l0,   # [3H, I], [3H, H], gates r, z, n
            "bias_ih": g.bias_ih_l0, "bias_hh": g.bias_hh_l0})
        e.dense("fc", self.fc)
        e.layer("softmax", "softmax")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="build/kws")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    common.setup_threads()
    common.seed_everything(args.seed)
    rows, x, y, split, voice = kws.load(args.data)
    tr, va, te = (split == "train"), (split == "val"), (split == "test")
    assert not (set(voice[te]) & set(voice[tr | va])), "test voices leak into train/val"
    print(f"gru{args.hidden}: train {tr.sum()} val {va.sum()} test {te.sum()}")
    model = GRUNet(args.hidden)
    t0 = time.time()
    best = common.train(model, x[tr], y[tr], x[va], y[va], args.epochs, args.lr, batch=args.batch, augment=kws.augment)
    correct, pred = common.evaluate(model, x[te], y[te])
    acc = common.write_accuracy(args.out, correct, te.sum(), {
        "network": "kws-gru", "val_accuracy": round(best, 4), "epochs": args.epochs, "hidden": args.hidden})
    print(f"trained in {time.time() - t0:.0f} s")
    print(acc)
    cm = np.zeros((12, 12), dtype=int)
    for t, p in zip(y[te], pred):
        cm[t, p] += 1
    print("confusion (rows true):\n" + "\n".join(f"{kws.CLASSES[i]:>8} " + " ".join(f"{v:4d}" for v in cm[i]) for i in range(12)))
    e = common.Exporter("kws-gru", kws.INPUT, kws.CLASSES)
    model.export(e)
    e.write(args.out)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))


if __name__ == "__main__":
    main()
