"""Shared helpers for the nnq example-network training scripts.

The scripts write an intermediate export under data/build/ that the Go
command data/tools/export turns into nnq Arrow files:

  <dir>/model.json    the nnq graph JSON (version, name, layout, input,
                      classes, layers) plus "tensors": {name: {"shape": [...],
                      "file": "<name>.bin"}}; tensors are raw little-endian
                      float32 in PyTorch layout (conv OIHW, depthwise
                      [C,1,kh,kw], dense [out][in]).
  <dir>/accuracy.json the script's own float test accuracy.

  <pdir>/patterns.json  {"shape", "layout", "count", "inputs": "inputs.bin",
                         "labels": "labels.bin", "splits": "splits.txt"}
                        inputs float32 LE, labels int32 LE, one split a line.
"""

import json
import os
import random

import numpy as np
import torch
import torch.nn as nn


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def setup_threads():
    torch.set_num_threads(int(os.environ.get("NNQ_TORCH_THREADS", "2")))


class Exporter:
    """Collects layers and tensors of an nnq graph."""

    def __init__(self, name, input_shape, classes, layout="NCHW", input_name="input"):
        self.name = name
        self.input_shape = list(input_shape)
        self.classes = list(classes)
        self.layout = layout
        self.input_name = input_name
        self.layers = []
        self.tensors = {}

    def tensor(self, name, t):
        a = t.detach().cpu().to(torch.float32).numpy()
        self.tensors[name] = np.ascontiguousarray(a)
        return name

    def layer(self, name, op, attrs=None, params=None):
        l = {"name": name, "op": op, "attrs": attrs or {}}
        if params:
            l["params"] = {role: self.tensor(f"{name}.{role}", t) for role, t in params.items()}
        self.layers.append(l)

    # Convenience builders over torch modules -------------------------------

    def conv2d(self, name, m: nn.Conv2d, pads):
        kh, kw = m.kernel_size
        attrs = {"kernel": [kh, kw], "strides": list(m.stride)}
        attrs.update(padding_attrs(pads))
        params = {"weight": m.weight}
        if m.bias is not None:
            params["bias"] = m.bias
        if m.groups == 1:
            attrs["filters"] = m.out_channels
            self.layer(name, "conv2d", attrs, params)
        else:
            assert m.groups == m.in_channels == m.out_channels, "only depthwise grouping is supported"
            self.layer(name, "depthwise_conv2d", attrs, params)

    def batchnorm(self, name, m: nn.BatchNorm2d):
        self.layer(name, "batchnorm", {"epsilon": m.eps},
                   {"gamma": m.weight, "beta": m.bias, "mean": m.running_mean, "var": m.running_var})

    def dense(self, name, m: nn.Linear):
        params = {"weight": m.weight}
        if m.bias is not None:
            params["bias"] = m.bias
        self.layer(name, "dense", {"units": m.out_features}, params)

    def write(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        tens = {}
        for name, a in self.tensors.items():
            fn = name + ".bin"
            a.astype("<f4").tofile(os.path.join(out_dir, fn))
            tens[name] = {"shape": list(a.shape), "file": fn}
        graph = {
            "version": 1,
            "name": self.name,
            "layout": self.layout,
            "input": {"name": self.input_name, "shape": self.input_shape},
            "classes": self.classes,
            "layers": self.layers,
            "tensors": tens,
        }
        with open(os.path.join(out_dir, "model.json"), "w") as f:
            json.dump(graph, f, indent=1)


def padding_attrs(pads):
    """pads = [top, left, bottom, right] or "valid"."""
    if pads == "valid" or pads == [0, 0, 0, 0]:
        return {"padding": "valid"}
    return {"padding": "explicit", "pads": list(pads)}


def write_patterns(out_dir, x, labels, splits, layout="NCHW"):
    os.makedirs(out_dir, exist_ok=True)
    x = np.ascontiguousarray(x, dtype="<f4")
    x.tofile(os.path.join(out_dir, "inputs.bin"))
    np.asarray(labels, dtype="<i4").tofile(os.path.join(out_dir, "labels.bin"))
    with open(os.path.join(out_dir, "splits.txt"), "w") as f:
        f.write("\n".join(splits) + "\n")
    meta = {"shape": list(x.shape[1:]), "layout": layout, "count": int(x.shape[0]),
            "inputs": "inputs.bin", "labels": "labels.bin", "splits": "splits.txt"}
    with open(os.path.join(out_dir, "patterns.json"), "w") as f:
        json.dump(meta, f, indent=1)


def write_accuracy(out_dir, correct, total, extra=None):
    os.makedirs(out_dir, exist_ok=True)
    d = {"split": "test", "test_size": int(total), "correct": int(correct),
         "test_accuracy": round(correct / total, 4)}
    if extra:
        d.update(extra)
    with open(os.path.join(out_dir, "accuracy.json"), "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    return d


@torch.no_grad()
def evaluate(model, x, y, batch=500):
    model.eval()
    correct = 0
    preds = []
    for i in range(0, len(x), batch):
        p = model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy()
        preds.append(p)
        correct += int((p == y[i:i + batch]).sum())
    return correct, np.concatenate(preds)


def train(model, xtr, ytr, xval, yval, epochs, lr, batch=100, wd=1e-4, augment=None, log=print):
    """Adam + one-cycle LR; keeps the weights of the best val epoch."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    lossf = nn.CrossEntropyLoss()
    best, best_state = -1, None
    g = np.random.default_rng(1)
    for ep in range(epochs):
        model.train()
        perm = g.permutation(len(xtr))
        tot = 0.0
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            xb = torch.from_numpy(xtr[idx])
            if augment is not None:
                xb = augment(xb)
            yb = torch.from_numpy(ytr[idx]).long()
            opt.zero_grad()
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        c, _ = evaluate(model, xval, yval)
        acc = c / len(xval)
        log(f"epoch {ep + 1}/{epochs} loss {tot / len(xtr):.4f} val {acc:.4f}")
        if acc >= best:
            best = acc
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return best
