"""Make the ONNX fixtures of nnq's importer tests (issue 10).

Exports small PyTorch networks with torch.onnx.export (opset 13) into
nnq/onnx/testdata/<name>.onnx and writes nnq/onnx/testdata/expected.json with
the PyTorch outputs for a few fixed inputs, which nnq/onnx/onnx_test.go matches
(through nnq.Load, ToCMSIS and the float pass) within 1e-4.

  /usr/bin/python3 data/onnx/make_fixtures.py        # from the repo root

Uses Debian's python3-torch (1.13, CPU) and python3-onnx; deterministic
(fixed seeds), so rerunning it rewrites the same networks. The graphs
exercise what PyTorch really emits: Conv/Gemm/BatchNormalization/pools,
ZeroPad2d as a Pad fed by a constant shape computation, x.view(x.size(0), -1)
as Shape/Gather/Unsqueeze/Concat/Reshape, x.mean((2, 3)) as ReduceMean, an
explicit matmul + bias as MatMul + Add, and an LSTM for the error test.
"""

import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "nnq", "onnx", "testdata")
OPSET = 13


def randomize_bn(bn, g):
    """Give a batchnorm layer non-trivial statistics and affine parameters."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g) * 0.3)
        bn.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.3)
        bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=g) * 0.2)


class CNN(nn.Module):
    """conv + relu + maxpool + flatten + dense + softmax."""

    input_shape = [1, 1, 8, 8]

    def __init__(self, g):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        x = torch.flatten(x, 1)
        return torch.softmax(self.fc(self.drop(x)), dim=1)


class BN(nn.Module):
    """Batchnorm kept as nodes (TrainingMode.PRESERVE in eval mode), ZeroPad2d
    before a conv, a strided conv without bias, average pooling with padding
    (count_include_pad=False), x.view(x.size(0), -1) and a BatchNorm1d after a
    dense layer, on a non-square input."""

    input_shape = [1, 2, 9, 7]
    training = torch.onnx.TrainingMode.PRESERVE

    def __init__(self, g):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 1, 0))  # left, right, top, bottom
        self.conv1 = nn.Conv2d(2, 6, 3)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 6, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.pool = nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=False)
        self.fc1 = nn.Linear(6 * 3 * 3, 12)
        self.bn3 = nn.BatchNorm1d(12)
        self.fc2 = nn.Linear(12, 5)
        for bn in (self.bn1, self.bn2, self.bn3):
            randomize_bn(bn, g)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(self.pad(x))))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        x = torch.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)


class DSBlock(nn.Module):
    """conv + depthwise 3x3 (groups=C) + pointwise 1x1 + GlobalAveragePool +
    dense; the depthwise batchnorm is folded by the exporter (eval mode)."""

    input_shape = [1, 3, 10, 12]

    def __init__(self, g):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.dwbn = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)
        randomize_bn(self.dwbn, g)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = torch.relu(self.dwbn(self.dw(x)))
        x = torch.relu(self.pw(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


class Ops(nn.Module):
    """sigmoid, tanh, mul and add of two activations, a per-channel constant
    scale (a 1x1 depthwise conv in nnq), a padded 3x3/2 max pool, a mean over
    the spatial axes and an explicit matmul + bias (MatMul + Add → dense)."""

    input_shape = [1, 2, 6, 6]

    def __init__(self, g):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.c2 = nn.Conv2d(2, 4, 3, padding=1)
        self.c3 = nn.Conv2d(2, 4, 1)
        self.scale = nn.Parameter(torch.rand(1, 4, 1, 1, generator=g) + 0.5)
        self.c4 = nn.Conv2d(4, 4, 3, padding=1)
        self.w = nn.Parameter(torch.randn(4 * 3 * 3, 6, generator=g) * 0.3)
        self.b = nn.Parameter(torch.randn(6, generator=g) * 0.1)
        self.fc = nn.Linear(4, 6)

    def forward(self, x):
        y = torch.sigmoid(self.c1(x)) * torch.tanh(self.c2(x)) + self.c3(x)
        y = torch.relu(y * self.scale)
        y = torch.max_pool2d(y, 3, stride=2, padding=1)  # 3x3
        z = torch.relu(self.c4(y))
        m = z.mean(dim=(2, 3))                           # ReduceMean → [1, 4]
        v = torch.matmul(torch.flatten(z, 1), self.w) + self.b
        return torch.tanh(v + self.fc(m))


class LSTMNet(nn.Module):
    """Not convertible: the error must list the LSTM and the LeakyRelu (and
    the reshapes that move elements between axes)."""

    input_shape = [1, 40]

    def __init__(self, g):
        super().__init__()
        self.fc = nn.Linear(40, 40)
        self.lstm = nn.LSTM(8, 16)
        self.out = nn.Linear(16, 4)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x):
        x = self.fc(x).view(5, 1, 8)   # [time, batch, features]
        y, _ = self.lstm(x)
        return torch.softmax(self.act(self.out(y[-1])), dim=1)


MODELS = {"cnn": CNN, "bn": BN, "dsblock": DSBlock, "ops": Ops, "lstm": LSTMNet}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, cls in MODELS.items():
        g = torch.Generator().manual_seed(7)
        torch.manual_seed(len(name) * 101)  # initial weights
        model = cls(g).eval()
        shape = cls.input_shape
        path = os.path.join(OUT, name + ".onnx")
        x0 = torch.randn(*shape)
        torch.onnx.export(model, x0, path, opset_version=OPSET, input_names=["input"], output_names=["output"],
                          training=getattr(cls, "training", torch.onnx.TrainingMode.EVAL),
                          do_constant_folding=True)
        onnx.checker.check_model(onnx.load(path))
        gen = torch.Generator().manual_seed(123)
        inputs = [torch.randn(*shape, generator=gen) for _ in range(3)]
        with torch.no_grad():
            outputs = [model(x).reshape(-1) for x in inputs]
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        expected[name] = {
            "file": name + ".onnx",
            "input_shape": shape,
            "inputs": [[float(v) for v in x.reshape(-1)] for x in inputs],
            "outputs": [[float(v) for v in y] for y in outputs],
            "onnx_ops": ops,
        }
        print(f"{name}: {os.path.getsize(path)} bytes, ops {ops}", file=sys.stderr)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
