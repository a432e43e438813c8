"""Make the GRU/LSTM fixtures of nnq's ONNX importer tests (issue 10 follow-up).

Exports small recurrent PyTorch networks (batch_first, opset 13) into
nnq/onnx/testdata/<name>.onnx and writes nnq/onnx/testdata/expected_rnn.json
with the PyTorch outputs for three fixed inputs each, which nnq/onnx/onnx_test.go
matches (through nnq.Load, ToCMSIS and the float pass) within 1e-4;
nnq/onnx/rnn_test.go checks their structure. Separate from make_fixtures.py
so that the older fixtures stay byte-identical.

  /usr/bin/python3 data/onnx/make_rnn_fixtures.py        # from the repo root

Uses Debian's python3-torch (1.13, CPU) and python3-onnx; deterministic. The
graphs are what torch.onnx.export writes around nn.GRU/nn.LSTM: the input
reshaped by x.squeeze(1), x[:, 0], x.view(...) or x.permute(0, 2, 1, 3)
.reshape(...), a Transpose to the sequence-first ONNX layout, initial states
built from Shape/Expand of zeros, and the last step taken by
Squeeze/Transpose/Gather (y[:, -1]), Slice (y[:, -1:]) or Gather on Y_h
(h_n[-1]; for stacked layers on the Concat of their Y_h).
"""

import json
import os
import sys

import onnx
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "nnq", "onnx", "testdata")
OPSET = 13


class GRUNet(nn.Module):
    """[1,1,12,5] -> x.squeeze(1) -> GRU(5, 8) -> y[:, -1] -> Linear(8, 4)."""

    input_shape = [1, 1, 12, 5]

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y, _ = self.gru(x.squeeze(1))
        return self.fc(y[:, -1])


class LSTMNet(nn.Module):
    """[1,1,12,5] -> x.view(1, 12, 5) -> LSTM(5, 8) -> h_n[-1] -> Linear(8, 4)
    -> softmax."""

    input_shape = [1, 1, 12, 5]

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        _, (h, _) = self.lstm(x.view(x.size(0), x.size(2), x.size(3)))
        return torch.softmax(self.fc(h[-1]), dim=1)


class CRNN(nn.Module):
    """[1,2,10,4] -> conv 3x3 (3 channels) + relu -> x.permute(0, 2, 1, 3)
    .reshape(1, 10, 12) (per step C-major features) -> 2-layer GRU(12, 8)
    -> y[:, -1:, :].flatten(1) -> Linear(8, 3)."""

    input_shape = [1, 2, 10, 4]

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.gru = nn.GRU(12, 8, num_layers=2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        n, c, t, f = x.shape
        y, _ = self.gru(x.permute(0, 2, 1, 3).reshape(n, t, c * f))
        return self.fc(y[:, -1:, :].flatten(1))


class LSTM2(nn.Module):
    """[1,1,9,6] -> x.squeeze(1) -> LSTM(6, 7) (every step) -> LSTM(7, 5)
    -> y[:, -1] -> Linear(5, 4)."""

    input_shape = [1, 1, 9, 6]

    def __init__(self):
        super().__init__()
        self.l1 = nn.LSTM(6, 7, batch_first=True)
        self.l2 = nn.LSTM(7, 5, batch_first=True)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        y, _ = self.l1(x.squeeze(1))
        y, _ = self.l2(y)
        return self.fc(y[:, -1])


class LSTMStack(nn.Module):
    """[1,1,8,5] -> x.squeeze(1) -> 2-layer LSTM(5, 6) -> h_n[-1] (a Gather
    from the Concat of both layers' Y_h) -> Linear(6, 3)."""

    input_shape = [1, 1, 8, 5]

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, num_layers=2, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        _, (h, _) = self.lstm(x.squeeze(1))
        return self.fc(h[-1])


class GRUIndex(nn.Module):
    """The KWS GRU example's forward (data/train/kws_gru.py) at a small size:
    [1,1,12,5] -> x[:, 0] (Gather on the input) -> GRU(5, 8) -> h[0] ->
    Linear(8, 4) -> softmax."""

    input_shape = [1, 1, 12, 5]

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        _, h = self.gru(x[:, 0])
        return torch.softmax(self.fc(h[0]), dim=1)


MODELS = {"gru": GRUNet, "lstmh": LSTMNet, "crnn": CRNN, "lstm2": LSTM2, "lstmstack": LSTMStack, "gruidx": GRUIndex}


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, cls in MODELS.items():
        torch.manual_seed(len(name) * 101 + 1)  # initial weights
        model = cls().eval()
        shape = cls.input_shape
        path = os.path.join(OUT, name + ".onnx")
        x0 = torch.randn(*shape)
        torch.onnx.export(model, x0, path, opset_version=OPSET, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)
        onnx.checker.check_model(onnx.load(path))
        gen = torch.Generator().manual_seed(321)
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
    with open(os.path.join(OUT, "expected_rnn.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
