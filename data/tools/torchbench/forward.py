"""Time a PyTorch float inference pass over an nnq pattern set.

  /usr/bin/python3 forward.py DIR [RUNS]

DIR holds what `nnq bench` writes: model.json (an nnq float model in the
NCHW layout it was trained in: layers, attributes, and one little-endian
float32 file per tensor), inputs.bin / labels.bin / patterns.json. The
script builds the same network from torch.nn.functional calls (conv2d,
depthwise conv2d, batchnorm in eval mode, relu, max/avg pooling, flatten,
dense, softmax, add, mul, sigmoid, tanh), runs it with 2 threads in batches of 256 and prints
one JSON line: {"best_seconds", "patterns", "accuracy"}. Uses Debian's
python3-torch (CPU).
"""

import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(d):
    with open(os.path.join(d, "model.json")) as f:
        g = json.load(f)
    t = {}
    for name, spec in g["tensors"].items():
        a = np.fromfile(os.path.join(d, spec["file"]), dtype="<f4").reshape(spec["shape"])
        t[name] = torch.from_numpy(a)
    return g, t


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pads_of(attrs, h, w, kh, kw, sh, sw):
    """[left, right, top, bottom] for F.pad."""
    p = attrs.get("padding", "valid")
    if p == "explicit":
        t, l, b, r = attrs["pads"]
        return [l, r, t, b]
    if p == "same":
        t, b = same_pads(h, kh, sh)
        l, r = same_pads(w, kw, sw)
        return [l, r, t, b]
    return [0, 0, 0, 0]


def build(g, t):
    if g["layout"] != "NCHW":
        raise SystemExit("forward.py: only NCHW models (PyTorch layout) are supported, not %s" % g["layout"])
    layers = g["layers"]

    def param(l, role):
        n = (l.get("params") or {}).get(role)
        return t[n] if n else None

    def forward(x):
        acts = {}
        prev = x
        for l in layers:
            ins = [acts[n] for n in l.get("inputs") or []] or [prev]
            a, op, v = l.get("attrs") or {}, l["op"], ins[0]
            if op in ("conv2d", "depthwise_conv2d"):
                w = param(l, "weight")
                kh, kw = w.shape[2], w.shape[3]
                sh, sw = (a.get("strides") or [1, 1])
                v = F.pad(v, pads_of(a, v.shape[2], v.shape[3], kh, kw, sh, sw))
                groups = v.shape[1] if op == "depthwise_conv2d" else 1
                v = F.conv2d(v, w, param(l, "bias"), stride=(sh, sw), groups=groups)
                if a.get("activation") == "relu":
                    v = torch.relu(v)
            elif op == "batchnorm":
                v = F.batch_norm(v, param(l, "mean"), param(l, "var"), param(l, "gamma"), param(l, "beta"),
                                 training=False, eps=a.get("epsilon") or 1e-5)
            elif op == "relu":
                v = torch.relu(v)
            elif op in ("maxpool2d", "avgpool2d"):
                if a.get("global"):
                    v = v.amax(dim=(2, 3), keepdim=True) if op == "maxpool2d" else v.mean(dim=(2, 3), keepdim=True)
                else:
                    kh, kw = a["kernel"]
                    sh, sw = a.get("strides") or [kh, kw]
                    p = pads_of(a, v.shape[2], v.shape[3], kh, kw, sh, sw)
                    if op == "maxpool2d":
                        v = F.max_pool2d(F.pad(v, p, value=float("-inf")), (kh, kw), (sh, sw))
                    else:
                        ones = F.pad(torch.ones_like(v[:1, :1]), p)
                        cnt = F.avg_pool2d(ones, (kh, kw), (sh, sw))
                        v = F.avg_pool2d(F.pad(v, p), (kh, kw), (sh, sw)) / cnt
            elif op in ("flatten", "reshape"):
                v = v.flatten(1)
            elif op == "dense":
                v = F.linear(v, param(l, "weight"), param(l, "bias"))
                if a.get("activation") == "relu":
                    v = torch.relu(v)
            elif op == "softmax":
                v = torch.softmax(v, dim=1)
            elif op in ("dropout", "identity"):
                pass
            elif op == "add":
                v = ins[0] + ins[1]
            elif op == "mul":
                v = ins[0] * ins[1]
            elif op == "sigmoid":
                v = torch.sigmoid(v)
            elif op == "tanh":
                v = torch.tanh(v)
            else:
                raise SystemExit("forward.py: layer %s: op %s is not supported" % (l["name"], op))
            acts[l["name"]] = v
            prev = v
        return prev

    return forward


def main():
    d = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(2)
    g, t = load(d)
    with open(os.path.join(d, "patterns.json")) as f:
        meta = json.load(f)
    n = meta["count"]
    x = torch.from_numpy(np.fromfile(os.path.join(d, "inputs.bin"), dtype="<f4").reshape([n] + meta["shape"]))
    y = np.fromfile(os.path.join(d, "labels.bin"), dtype="<i4")
    fwd = build(g, t)
    best, correct = float("inf"), 0
    with torch.no_grad():
        for _ in range(runs):
            t0 = time.perf_counter()
            preds = [fwd(x[i:i + 256]).argmax(dim=1) for i in range(0, n, 256)]
            best = min(best, time.perf_counter() - t0)
        correct = int((torch.cat(preds).numpy() == y).sum())
    print(json.dumps({"best_seconds": best, "patterns": n, "accuracy": correct / n}))


if __name__ == "__main__":
    main()
