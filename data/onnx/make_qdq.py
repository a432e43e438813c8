"""Make an already-quantized (QDQ) ONNX model and the framework's int8 results.

A small CNN (conv+ReLU, max pool, conv+ReLU, global average pool, linear) is
quantized with PyTorch's eager-mode static quantization (uint8 activations
with zero points, int8 symmetric weights: one scale per output channel for
the convolutions, one for the linear layer). Its parameters are then written
by hand, with the onnx package, as an ONNX graph in the QDQ form ONNX
Runtime's quantizer writes: QuantizeLinear/DequantizeLinear pairs on every
activation, DequantizeLinear on the int8 weights (axis 0) and the int32
biases (scale input*weight).

The quantized PyTorch model is run on 32 inputs (12x12) that lie exactly on
the input's quantization grid; its uint8 outputs of every layer (conv+ReLU,
max pool, conv+ReLU, global average pool, linear) are recorded as int8
(value - 128: the same real values with zero point - 128) in
expected_qdq.json (the PyTorch model first takes the int32 bias the graph
stores, so both are the same model), which nnq/onnx/qdq_test.go matches layer by layer (each
layer fed PyTorch's input to it) and end to end.

Run from the repository root with Debian's /usr/bin/python3
(python3-torch 1.13, python3-onnx):

    /usr/bin/python3 data/onnx/make_qdq.py

writes nnq/onnx/testdata/qdq.onnx and nnq/onnx/testdata/expected_qdq.json.
Deterministic (fixed seeds, one thread).
"""
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

OUT = "nnq/onnx/testdata"
torch.manual_seed(18)
torch.set_num_threads(1)
torch.backends.quantized.engine = "onednn"
tq = torch.ao.quantization


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.pool(x)
        x = self.relu2(self.conv2(x))
        x = self.gap(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return self.dequant(x)


def main():
    net = Net().eval()
    act = tq.MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
    per_ch = tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    per_t = tq.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    net.qconfig = tq.QConfig(activation=act, weight=per_ch)
    net.fc.qconfig = tq.QConfig(activation=act, weight=per_t)
    net = tq.fuse_modules(net, [["conv1", "relu1"], ["conv2", "relu2"]])
    tq.prepare(net, inplace=True)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(64):
            net(torch.randn(1, 1, 12, 12, generator=g) * 1.5)
    tq.convert(net, inplace=True)

    s_in, zp_in = float(net.quant.scale), int(net.quant.zero_point)
    f32 = np.float32

    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def qdq(x, name, scale, zp):
        """QuantizeLinear + DequantizeLinear of activation x (uint8)."""
        s = init(name + "_scale", np.array(scale, dtype=f32))
        z = init(name + "_zero_point", np.array(zp, dtype=np.uint8))
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [name + "_q"], name=name + "_QuantizeLinear"))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, z], [name + "_dq"], name=name + "_DequantizeLinear"))
        return name + "_dq"

    def weights(mod, name, in_scale):
        w = mod.weight()
        q = w.int_repr().numpy().astype(np.int8)
        per_ch = w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
        if per_ch:
            assert not w.q_per_channel_zero_points().any()
            ws = w.q_per_channel_scales().numpy().astype(f32)
            s, z = ws, np.zeros(q.shape[0], np.int8)
        else:
            assert w.q_zero_point() == 0
            ws = np.full(q.shape[0], w.q_scale(), dtype=f32)
            s, z = f32(ws[0]), np.int8(0)
        nodes.append(helper.make_node("DequantizeLinear", [init(name + ".weight_quantized", q), init(name + ".weight_scale", s),
                                                          init(name + ".weight_zero_point", z)],
                                      [name + ".weight"], name=name + ".weight_DequantizeLinear", axis=0))
        b = mod.bias().detach().numpy().astype(f32)
        bs = (f32(in_scale) * ws).astype(f32)
        bq = np.round(b / bs).astype(np.int32)
        # The PyTorch model takes the bias the graph stores (int32 at scale
        # input * weight), so both are the same model and the comparison
        # shows the arithmetic alone: PyTorch adds its float bias after
        # scaling, and an arbitrary float bias moves about 0.25% of the
        # conv outputs by one step.
        mod.set_weight_bias(w, torch.from_numpy((bq.astype(f32) * bs).astype(f32)))
        nodes.append(helper.make_node("DequantizeLinear", [init(name + ".bias_quantized", bq), init(name + ".bias_scale", bs),
                                                          init(name + ".bias_zero_point", np.zeros(len(bq), np.int32))],
                                      [name + ".bias"], name=name + ".bias_DequantizeLinear", axis=0))
        return name + ".weight", name + ".bias"

    x = qdq("input", "input", s_in, zp_in)
    w, b = weights(net.conv1, "conv1", s_in)
    nodes.append(helper.make_node("Conv", [x, w, b], ["conv1_out"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"))
    s1, z1 = float(net.conv1.scale), int(net.conv1.zero_point)
    x = qdq("relu1_out", "relu1", s1, z1)
    nodes.append(helper.make_node("MaxPool", [x], ["pool_out"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    x = qdq("pool_out", "pool", s1, z1)
    w, b = weights(net.conv2, "conv2", s1)
    nodes.append(helper.make_node("Conv", [x, w, b], ["conv2_out"], name="conv2", pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"))
    s2, z2 = float(net.conv2.scale), int(net.conv2.zero_point)
    x = qdq("relu2_out", "relu2", s2, z2)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap_out"], name="gap"))
    x = qdq("gap_out", "gap", s2, z2)
    nodes.append(helper.make_node("Flatten", [x], ["flat_out"], name="flatten", axis=1))
    w, b = weights(net.fc, "fc", s2)
    nodes.append(helper.make_node("Gemm", ["flat_out", w, b], ["fc_out"], name="fc", transB=1))
    s3, z3 = float(net.fc.scale), int(net.fc.zero_point)
    x = qdq("fc_out", "fc", s3, z3)
    nodes.append(helper.make_node("Identity", [x], ["logits"], name="output"))
    graph = helper.make_graph(nodes, "qdq_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 12, 12])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="nnq data/onnx/make_qdq.py")
    onnx.checker.check_model(model)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, "qdq.onnx"))

    # Inputs like the calibration ones, on the input grid: x = (k - zp) *
    # scale in float32.
    rng = np.random.RandomState(7)
    ks = np.clip(np.round(rng.randn(32, 144) * 1.5 / s_in) + zp_in, 0, 255).astype(np.int64)
    inputs = ((ks - zp_in).astype(f32) * f32(s_in)).astype(f32)
    rec = {}
    for name in ["conv1", "pool", "conv2", "gap", "fc"]:
        rec[name] = []
    hooks = [getattr(net, n).register_forward_hook(lambda m, i, o, n=n: rec[n].append((o.int_repr().flatten().numpy().astype(np.int32) - 128).tolist()))
             for n in rec]
    with torch.no_grad():
        for k in range(len(inputs)):
            net(torch.from_numpy(inputs[k].reshape(1, 1, 12, 12)))
    for h in hooks:
        h.remove()
    exp = {"engine": torch.backends.quantized.engine, "torch": torch.__version__, "input_scale": s_in, "input_zero_point": zp_in,
           "input_codes": ks.tolist(), "int8": rec,
           "note": "int8 = PyTorch's quint8 results minus 128, NCHW order; conv1 and conv2 are the fused conv+ReLU outputs"}
    with open(os.path.join(OUT, "expected_qdq.json"), "w") as f:
        json.dump(exp, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
