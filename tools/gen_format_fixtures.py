#!/usr/bin/env python3
"""Writes tests/fixtures/format.json: how PyTorch prints tensors and modules, and the output shapes
and parameter counts of every module call in a forward pass, for tests/core/format_test.ts and
tests/layers/summary_test.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_format_fixtures.py

"tensors": each case holds the elements (flat, row-major), shape, dtype (denn's names: int64 tensors
here stand for denn's int32, its default integer type), an optional transform ("t", "mul2", "sum",
"parameter", "requiresGrad"), optional print options (camelCased), and `torch`, the repr PyTorch
prints. Summarised tensors (more elements than the threshold) also hold `withSize`: the same repr
with denn's one addition, a `size=(...)` suffix, laid out by torch's own suffix code and checked
against `torch` without it. The test translates the names (see its header).

"modules": str(module) for LeNet-5, torchvision models and a Sequential of every layer type.

"calls": for a forward pass of zeros in eval mode, every module call in call order: name, class,
depth of the call, output shape and the module's parameter count (all its parameters).
"""

import json
import math
import os
from collections import OrderedDict

import torch
import torch._tensor_str as ts
import torch.nn as nn
import torchvision.models as tvm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "format.json")

DENN_DTYPE = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int32",
              torch.bool: "bool"}
OPTION_NAMES = {"precision": "precision", "threshold": "threshold", "edgeitems": "edgeitems",
                "linewidth": "linewidth", "sci_mode": "sciMode", "profile": "profile"}


def flat(t):
    vals = t.detach().reshape(-1).tolist()
    if t.dtype.is_floating_point:
        # JSON has no NaN/Infinity: write them as strings.
        return [v if math.isfinite(v) else str(v) for v in vals]
    return vals


def with_size(t, printed):
    """torch's repr of a summarised tensor plus denn's `size=(...)` suffix (first after device)."""
    suffixes = []
    if t.dtype not in (torch.float32, torch.int64, torch.bool):
        suffixes.append("dtype=" + str(t.dtype))
    if t.grad_fn is not None:
        suffixes.append("grad_fn=<{}>".format(type(t.grad_fn).__name__))
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    body = "tensor(" + ts._tensor_str(t.detach(), 7)
    assert ts._add_suffixes(body, suffixes, 7, False) == printed, printed
    return ts._add_suffixes(body, ["size=" + str(tuple(t.shape))] + suffixes, 7, False)


CASES = []


def case(name, values, dtype=torch.float32, shape=None, transform=None, **options):
    base = torch.tensor(values, dtype=dtype)
    if shape is not None:
        base = base.reshape(shape)
    CASES.append((name, base, transform, options))


def build(base, transform):
    if transform == "t":
        return base.t()
    if transform == "requiresGrad":
        return base.clone().requires_grad_(True)
    if transform == "mul2":
        return base.clone().requires_grad_(True).mul(2)
    if transform == "sum":
        return base.clone().requires_grad_(True).sum()
    if transform == "parameter":
        return nn.Parameter(base.clone())
    return base


def tensor_cases():
    case("small", [[0.1234, 1.0], [2.5, 3.0]])
    case("integral floats", [1.0, 2.0, 3.0])
    case("integral floats, wide", [100.0, -5.0, 0.0])
    case("negative", [-1.5, 0.25, -0.125, 7.0])
    case("negative zero", [-0.0, 0.0])
    case("all zeros", [0.0, 0.0, 0.0])
    case("tiny and large: scientific", [1e-5, 1.0, 123456.0])
    case("ratio over 1000: scientific", [0.5, 600.0])
    case("integral over 1e8: scientific", [1e9, 1.0])
    case("below 1e-4: scientific", [0.00005, 0.00007])
    case("nan and inf", [float("nan"), 1.5, float("inf"), float("-inf")])
    case("nan only", [float("nan"), float("nan")])
    case("ties round half to even", [0.15625, 1.03125, 2.71875, -0.15625])
    case("tie in scientific notation", [10.3125, 0.00001])
    case("ints", [[1, -20, 300], [4, 5, 6]], torch.int64)
    case("bools", [True, False, True], torch.bool)
    case("scalar float", 3.14159)
    case("scalar int", 7, torch.int64)
    case("scalar bool", False, torch.bool)
    case("empty", [], shape=(0,))
    case("empty 2-D", [], shape=(0, 3))
    case("empty int", [], torch.int64, shape=(0,))
    case("empty bool 3-D", [], torch.bool, shape=(2, 0, 3))
    case("3-D", [((i * 37) % 23 - 11) / 8 for i in range(24)], shape=(2, 3, 4))
    case("4-D", list(range(16)), torch.int64, shape=(2, 2, 2, 2))
    case("long vector wraps at 80 columns", [i / 3 for i in range(30)])
    case("transposed view", [[1.5, 2.0, 3.0], [4.0, 5.0, 6.25]], transform="t")
    case("float16", [0.1, 1000.5, -3.0], torch.float16)
    case("requires grad", [1.0, 2.0], transform="requiresGrad")
    case("grad_fn mul", [1.0, 2.5], transform="mul2")
    case("grad_fn sum", [1.0, 2.5], transform="sum")
    case("parameter", [1.0, 2.0], transform="parameter")
    case("summarised 1-D", [float(i) for i in range(2000)])
    case("summarised 1-D fractions", [(i % 97) / 8 - 6 for i in range(1001)])
    case("summarised 2-D", [((i * 13) % 101) / 4 for i in range(40 * 50)], shape=(40, 50))
    case("summarised 3-D ints", [(i * 7) % 1000 - 500 for i in range(12 * 10 * 10)], torch.int64,
         shape=(12, 10, 10))
    case("summarised bools", [i % 3 == 0 for i in range(1200)], torch.bool)
    case("summarised, requires grad", [i / 4 for i in range(1001)], transform="requiresGrad")
    case("summarised float16", [(i % 50) / 8 for i in range(1010)], torch.float16)
    case("precision 2", [1.23456, -2.5, 3.14159], precision=2)
    case("precision 0", [1.5, 2.25], precision=0)
    case("sci_mode False", [1e-5, 1.0, 123456.0], sci_mode=False)
    case("sci_mode True", [1.5, 2.0], sci_mode=True)
    case("threshold 5", list(range(10)), torch.int64, threshold=5)
    case("edgeitems 1", [float(i) for i in range(20)], threshold=5, edgeitems=1)
    case("linewidth 40", [i / 3 for i in range(12)], linewidth=40)
    case("profile short", [[i / 7 for i in range(6)]] * 6, profile="short", threshold=10)
    case("profile full", list(range(1001)), torch.int64, profile="full")
    # Random magnitudes and signs: the rounding of every element against Python's formatting.
    gen = torch.Generator().manual_seed(7)
    for i in range(40):
        n = int(torch.randint(1, 7, (1,), generator=gen))
        exponent = torch.randint(-7, 10, (1,), generator=gen).item()
        spread = torch.rand(n, generator=gen) * (4 if i % 2 else 1)
        signs = torch.where(torch.rand(n, generator=gen) < 0.3, -1.0, 1.0)
        values = (signs * 10.0 ** (exponent - spread) * torch.rand(n, generator=gen)).tolist()
        case(f"random {i}", [float(torch.tensor(v, dtype=torch.float32)) for v in values])


def tensor_fixtures():
    tensor_cases()
    out = []
    for name, base, transform, options in CASES:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(**options)
        t = build(base, transform)
        printed = repr(t)
        entry = {"name": name, "values": flat(base), "shape": list(base.shape),
                 "dtype": DENN_DTYPE[base.dtype], "torch": printed}
        if transform:
            entry["transform"] = transform
        if options:
            entry["options"] = {OPTION_NAMES[k]: v for k, v in options.items()}
        if t.numel() > ts.PRINT_OPTS.threshold:
            entry["withSize"] = with_size(t, printed)
        out.append(entry)
    torch.set_printoptions(profile="default")
    return out


class LeNet5(nn.Module):
    """plugins/models/lenet.ts, built the same way."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                        nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        f = self.features(x)
        return self.classifier(f.reshape(f.shape[0], -1))


def every_layer():
    """A Sequential of every layer type with non-default options (tests/core/format_test.ts
    builds the same one)."""
    inner = nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 8, 3, padding="same")),
                                       ("act", nn.ReLU(inplace=True))]))
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.Conv2d(6, 16, (3, 5), stride=2, dilation=(2, 1), groups=2, bias=False),
        nn.Conv2d(4, 4, 3, padding="valid"),
        nn.ReLU(),
        nn.ReLU(inplace=True),
        nn.LeakyReLU(0.2, inplace=True),
        nn.LeakyReLU(),
        nn.GELU(),
        nn.GELU(approximate="tanh"),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Softmax(dim=1),
        nn.LogSoftmax(dim=-1),
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.MaxPool2d((2, 3), stride=(1, 2), dilation=2),
        nn.AvgPool2d(3, stride=2, padding=1),
        nn.AvgPool2d((2, 4)),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.AdaptiveAvgPool2d((None, 7)),
        nn.Dropout(0.25),
        nn.Dropout(),
        nn.BatchNorm2d(16),
        nn.BatchNorm1d(8, eps=0.001, momentum=None, affine=False, track_running_stats=False),
        nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
        nn.LocalResponseNorm(3),
        nn.Flatten(),
        nn.Flatten(0, 2),
        nn.Identity(),
        nn.Linear(4, 2, bias=False),
        nn.Linear(400, 120),
        inner,
        nn.ModuleList([nn.Tanh(), nn.Linear(2, 2)]),
        nn.CrossEntropyLoss(),
        nn.MSELoss(reduction="sum"),
    )


MODELS = {
    "lenet5": LeNet5,
    "every layer": every_layer,
    "alexnet": tvm.alexnet,
    "googlenet": lambda: tvm.googlenet(aux_logits=True, init_weights=False),
    "googlenet_noaux": lambda: tvm.googlenet(aux_logits=False, init_weights=False),
    "resnet18": tvm.resnet18,
    "resnet50": tvm.resnet50,
}

# name → (builder, input shape) for the forward-pass call lists.
CALLS = {
    "lenet5": (LeNet5, [1, 1, 28, 28]),
    "resnet18": (lambda: tvm.resnet18(num_classes=10), [2, 3, 64, 64]),
    "alexnet": (lambda: tvm.alexnet(num_classes=10), [1, 3, 63, 63]),
    "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=True, init_weights=False),
                  [1, 3, 64, 64]),
}


def calls(build, shape):
    model = build().eval()
    names = {m: n for n, m in model.named_modules()}
    rows, stack = [], []

    def pre(m, _inputs):
        rows.append({"name": names[m], "type": type(m).__name__, "depth": len(stack),
                     "params": sum(p.numel() for p in m.parameters())})
        stack.append(rows[-1])

    def post(m, _inputs, output):
        row = stack.pop()
        row["shape"] = list(output.shape) if isinstance(output, torch.Tensor) else None

    for m in model.modules():
        m.register_forward_pre_hook(pre)
        m.register_forward_hook(post)
    with torch.no_grad():
        model(torch.zeros(shape))
    total = sum(p.numel() for p in model.parameters())
    return {"input": shape, "totalParams": total, "rows": rows}


# Python's repr(float), which PyTorch's module reprs use for eps, momentum, p, alpha...
FLOATS = [1e-5, 0.0001, 0.001, 1e-4 * 0.999, 0.1, 0.25, 0.75, 1.0, 2.0, -2.5, 1 / 3, 2 / 3,
          123456789.125, 1e15, 1e16, 1.5e16, 1e22, 5e-324, 1.7976931348623157e308, 0.01, 0.2,
          0.7, 1e-300, -0.0, 0.0, 12345.678, 9.999999e-5, 3.14159e-7]


def main():
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "tensors": tensor_fixtures()}
    out["floats"] = [[x, repr(x)] for x in FLOATS]
    out["modules"] = {name: str(build()) for name, build in MODELS.items()}
    out["calls"] = {name: calls(b, s) for name, (b, s) in CALLS.items()}
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(out['tensors'])} tensors, {len(out['modules'])} modules, "
          f"{len(out['calls'])} forward passes")


if __name__ == "__main__":
    main()
