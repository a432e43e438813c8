"""Export the trained KWS DS-CNN to ONNX: data/kws-dscnn/model.onnx.

The ONNX twin of data/kws-dscnn/model.arrow (issue 10): the same trained
weights, exported with torch.onnx.export (opset 13) in eval mode with
TrainingMode.PRESERVE so every BatchNormalization stays a node (nnq folds it
when loading, exactly as it folds the Arrow model's batchnorm layers), and a
final Softmax as in the Arrow graph. nnq/onnx/kws_test.go checks that both
files quantize to the same fixed-point model.

  /usr/bin/python3 data/onnx/export_kws.py            # from the repo root
  /usr/bin/python3 data/onnx/export_kws.py --build data/build/kws-dscnn --out data/kws-dscnn/model.onnx

The weights come from the training run's intermediate export in
data/build/kws-dscnn/ (see data/train/common.py): the PyTorch state_dict
model.pt when present, else the tensors of model.json + *.bin (the very
tensors data/tools/export writes into model.arrow). The class names travel
in the ONNX metadata entry "classes" (a JSON list), the input front end (the
MFCC the network was trained on) in "nnq.frontend": the "frontend" record of
data/build/kws/features.json, as tools/features wrote it. nnq reads both.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "data", "train"))
import kws  # noqa: E402  (DSCNN, CLASSES, INPUT)


def load_from_intermediate(model, build):
    """Fill the DS-CNN from model.json + *.bin (nnq layer names)."""
    with open(os.path.join(build, "model.json")) as f:
        graph = json.load(f)
    tens = {}
    for name, meta in graph["tensors"].items():
        a = np.fromfile(os.path.join(build, meta["file"]), dtype="<f4").reshape(meta["shape"])
        tens[name] = torch.from_numpy(a.copy())
    sd = {}

    def conv(prefix, mod):
        sd[mod + ".weight"] = tens[prefix + ".weight"]
        sd[mod + ".bias"] = tens[prefix + ".bias"]

    def bn(prefix, mod):
        for role, key in (("gamma", "weight"), ("beta", "bias"), ("mean", "running_mean"), ("var", "running_var")):
            sd[f"{mod}.{key}"] = tens[f"{prefix}.{role}"]

    conv("conv1", "conv1")
    bn("bn1", "bn1")
    for i in range(len(model.dw)):
        conv(f"dw{i + 1}", f"dw.{i}")
        bn(f"dw{i + 1}_bn", f"dwbn.{i}")
        conv(f"pw{i + 1}", f"pw.{i}")
        bn(f"pw{i + 1}_bn", f"pwbn.{i}")
    conv("fc", "fc")
    missing = model.load_state_dict(sd, strict=False)
    # num_batches_tracked buffers are not exported and not needed.
    assert all(k.endswith("num_batches_tracked") for k in missing.missing_keys), missing
    assert not missing.unexpected_keys, missing


class DSCNNSoftmax(kws.DSCNN):
    """The DS-CNN with the softmax the Arrow graph ends with (node names stay
    the module paths: /conv1/Conv, /bn1/BatchNormalization, ...)."""

    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "data", "build", "kws-dscnn"))
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "kws-dscnn", "model.onnx"))
    ap.add_argument("--features", default=os.path.join(ROOT, "data", "build", "kws", "features.json"))
    args = ap.parse_args()
    model = DSCNNSoftmax()
    pt = os.path.join(args.build, "model.pt")
    if os.path.exists(pt):
        model.load_state_dict(torch.load(pt, map_location="cpu"))
        src = pt
    else:
        load_from_intermediate(model, args.build)
        src = os.path.join(args.build, "model.json")
    net = model.eval()
    x = torch.zeros(1, *kws.INPUT)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.onnx.export(net, x, args.out, opset_version=13, input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    m = onnx.load(args.out)
    m.metadata_props.add(key="classes", value=json.dumps(kws.CLASSES))
    with open(args.features) as f:
        m.metadata_props.add(key="nnq.frontend", value=json.dumps(json.load(f)["frontend"], separators=(",", ":")))
    m.graph.name = "kws-dscnn"
    onnx.checker.check_model(m)
    onnx.save(m, args.out)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"{args.out}: {os.path.getsize(args.out)} bytes from {src}; ops {ops}")


if __name__ == "__main__":
    main()
