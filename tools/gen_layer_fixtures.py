#!/usr/bin/env python3
"""Writes tests/fixtures/layers.json: PyTorch golden values for the layer plugins in layers/.

Run from the repository root:  /usr/bin/python3 tools/gen_layer_fixtures.py

Each case describes a module as a small JSON spec ({"type", "args", "options", children...}) that
tests/layers/layers_test.ts turns into denn layers, and the same module built with torch.nn. For
every step of a case the file holds the input x, the upstream gradient g, the output y, the input
gradient dx and the parameter gradients of loss = (y * g).sum(), plus the state dict after the step
(running statistics of batch norm change in training). Parameters are initialised by PyTorch
(seeded) and rounded to 4 decimals; inputs and upstream gradients are rounded to 3 decimals. All
those are float32-exact, and the goldens are computed in float64 from them and rounded to 7
significant digits, so they are the exact answer the float32 layers approximate.
"""

import json
import os
import re

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "layers.json")

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(1234)


def camel(name):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def jsonable(v):
    if isinstance(v, tuple):
        return [jsonable(e) for e in v]
    return v


class Spec:
    """A module built twice: with torch.nn now and, from `spec`, with denn in the TS test."""

    def __init__(self, module, spec):
        self.module = module
        self.spec = spec


def layer(cls, *args, **kwargs):
    """torch.nn.<cls>(*args, **kwargs); the denn layer takes the same positional args and the
    keyword args (camelCased) as its options object."""
    module = getattr(nn, cls)(*args, **kwargs)
    spec = {"type": cls, "args": [jsonable(a) for a in args],
            "options": {camel(k): jsonable(v) for k, v in kwargs.items()}}
    return Spec(module, spec)


def sequential(*items):
    return Spec(nn.Sequential(*[i.module for i in items]),
                {"type": "Sequential", "children": [i.spec for i in items]})


class TorchResidual(nn.Module):
    """What denn's Residual computes, with the same child names."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)


class TorchConcat(nn.Module):
    """What denn's Concat computes, with the same child names ("0", "1", ...)."""

    def __init__(self, branches, dim=1):
        super().__init__()
        for i, b in enumerate(branches):
            self.add_module(str(i), b)
        self.dim = dim

    def forward(self, x):
        return torch.cat([b(x) for b in self.children()], self.dim)


def residual(body, shortcut=None):
    return Spec(TorchResidual(body.module, shortcut.module if shortcut else None),
                {"type": "Residual", "body": body.spec,
                 "shortcut": shortcut.spec if shortcut else None})


def concat(branches, dim=1):
    return Spec(TorchConcat([b.module for b in branches], dim),
                {"type": "Concat", "branches": [b.spec for b in branches], "options": {"dim": dim}})


def rounded(shape, decimals=3, scale=1.0):
    t = torch.randn(shape, generator=GEN, dtype=torch.float64) * scale
    return (torch.round(t * 10 ** decimals) / 10 ** decimals).float().double()


def enc_exact(t):
    """Values that are float32-exact short decimals (inputs, rounded parameters)."""
    return [float("%.6g" % v) for v in t.flatten().tolist()]


def enc(t):
    return [float("%.7g" % v) for v in t.flatten().tolist()]


def enc_state(sd, exact=False):
    out = {}
    for k, v in sd.items():
        if v.dtype in (torch.int64, torch.int32):
            out[k] = [int(e) for e in v.flatten().tolist()]
        else:
            out[k] = enc_exact(v) if exact else enc(v)
    return out


def case(name, spec, steps, in_shape, scale=1.0, nonleaf=False):
    """`steps`: list of training flags, one forward/backward per entry."""
    m = spec.module
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.round(p * 1e4) / 1e4)
    m = m.double()
    state = enc_state(m.state_dict(), exact=True)
    out_steps = []
    for training in steps:
        m.train(training)
        x = rounded(in_shape, scale=scale).requires_grad_()
        m.zero_grad()
        y = m(x * 1 if nonleaf else x)
        g = rounded(tuple(y.shape))
        (y * g).sum().backward()
        out_steps.append({
            "training": training,
            "x": enc_exact(x.detach()),
            "g": enc_exact(g),
            "y": enc(y.detach()),
            "yShape": list(y.shape),
            "dx": enc(x.grad),
            "grads": {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None},
            "stateAfter": enc_state(m.state_dict()),
        })
    return {"name": name, "spec": spec.spec, "inShape": list(in_shape), "nonLeafInput": nonleaf,
            "state": state, "stateKeys": list(m.state_dict().keys()), "steps": out_steps}


T = [True]
E = [False]


def cases():
    c = []
    # ---- Conv2d
    c.append(case("Conv2d basic", layer("Conv2d", 3, 4, 3), T, (2, 3, 6, 6)))
    c.append(case("Conv2d stride 2 padding 1", layer("Conv2d", 3, 4, 3, stride=2, padding=1), T,
                  (2, 3, 7, 7)))
    c.append(case("Conv2d rectangular", layer("Conv2d", 2, 4, (2, 3), stride=(2, 1),
                                              padding=(1, 0), dilation=(1, 2)), T, (1, 2, 6, 7)))
    c.append(case("Conv2d groups no bias", layer("Conv2d", 4, 6, 3, groups=2, padding=1,
                                                 bias=False), T, (2, 4, 5, 5)))
    c.append(case("Conv2d depthwise", layer("Conv2d", 3, 3, 3, groups=3), T, (1, 3, 5, 5)))
    c.append(case("Conv2d same even kernel", layer("Conv2d", 2, 3, 4, padding="same"), T,
                  (1, 2, 6, 5)))
    c.append(case("Conv2d same dilated", layer("Conv2d", 2, 3, 3, padding="same", dilation=2), T,
                  (1, 2, 6, 6)))
    c.append(case("Conv2d valid", layer("Conv2d", 2, 3, 3, padding="valid"), T, (1, 2, 5, 5)))
    # ---- activations
    c.append(case("ReLU", layer("ReLU"), T, (2, 3, 4)))
    c.append(case("ReLU inplace", layer("ReLU", inplace=True), T, (2, 3, 4), nonleaf=True))
    c.append(case("LeakyReLU default", layer("LeakyReLU"), T, (2, 3, 4)))
    c.append(case("LeakyReLU 0.2", layer("LeakyReLU", 0.2), T, (2, 3, 4)))
    c.append(case("Sigmoid", layer("Sigmoid"), T, (2, 3, 4), scale=3))
    c.append(case("Tanh", layer("Tanh"), T, (2, 3, 4), scale=2))
    c.append(case("GELU", layer("GELU"), T, (2, 3, 4), scale=2))
    c.append(case("GELU tanh", layer("GELU", approximate="tanh"), T, (2, 3, 4), scale=2))
    c.append(case("Softmax dim 1", layer("Softmax", 1), T, (3, 5), scale=3))
    c.append(case("Softmax dim -1", layer("Softmax", -1), T, (2, 3, 4), scale=3))
    c.append(case("LogSoftmax dim 1", layer("LogSoftmax", 1), T, (3, 5), scale=3))
    c.append(case("LogSoftmax dim 0", layer("LogSoftmax", 0), T, (3, 2, 2), scale=3))
    # ---- pooling
    c.append(case("MaxPool2d 2", layer("MaxPool2d", 2), T, (2, 2, 6, 6)))
    c.append(case("MaxPool2d 3 s2 p1", layer("MaxPool2d", 3, stride=2, padding=1), T,
                  (1, 2, 7, 7)))
    c.append(case("MaxPool2d ceil", layer("MaxPool2d", 3, stride=2, ceil_mode=True), T,
                  (1, 2, 6, 6)))
    c.append(case("MaxPool2d dilation", layer("MaxPool2d", 2, stride=1, dilation=2), T,
                  (1, 2, 5, 5)))
    c.append(case("MaxPool2d rectangular", layer("MaxPool2d", (2, 3), stride=(1, 2),
                                                 padding=(1, 1)), T, (1, 1, 5, 6)))
    c.append(case("AvgPool2d 2", layer("AvgPool2d", 2), T, (2, 2, 6, 6)))
    c.append(case("AvgPool2d 3 s2 p1", layer("AvgPool2d", 3, stride=2, padding=1), T,
                  (1, 2, 7, 7)))
    c.append(case("AvgPool2d no count pad", layer("AvgPool2d", 3, stride=2, padding=1,
                                                  count_include_pad=False), T, (1, 2, 7, 7)))
    c.append(case("AvgPool2d ceil", layer("AvgPool2d", 3, stride=2, ceil_mode=True), T,
                  (1, 2, 6, 6)))
    c.append(case("AvgPool2d divisor", layer("AvgPool2d", 2, divisor_override=3), T,
                  (1, 2, 4, 4)))
    c.append(case("AdaptiveAvgPool2d 1", layer("AdaptiveAvgPool2d", 1), T, (2, 3, 5, 5)))
    c.append(case("AdaptiveAvgPool2d 3x2", layer("AdaptiveAvgPool2d", (3, 2)), T, (1, 2, 7, 5)))
    c.append(case("AdaptiveAvgPool2d None", layer("AdaptiveAvgPool2d", (None, 2)), T,
                  (1, 2, 3, 5)))
    # ---- dropout: deterministic edge cases only (masks are checked statistically in TS)
    c.append(case("Dropout p 0 train", layer("Dropout", 0.0), T, (2, 8)))
    c.append(case("Dropout p 1 train", layer("Dropout", 1.0), T, (2, 8)))
    c.append(case("Dropout eval", layer("Dropout", 0.5), E, (2, 8)))
    # ---- normalisation
    c.append(case("LocalResponseNorm 3", layer("LocalResponseNorm", 3), T, (2, 5, 3, 3), scale=3))
    c.append(case("LocalResponseNorm 4 custom", layer("LocalResponseNorm", 4, alpha=0.05, beta=0.5,
                                                      k=2.0), T, (1, 6, 3, 3), scale=3))
    c.append(case("LocalResponseNorm 3-D", layer("LocalResponseNorm", 2, alpha=0.1), T, (2, 4, 5),
                  scale=2))
    bn_steps = [True, True, True, False]
    c.append(case("BatchNorm1d 2-D", layer("BatchNorm1d", 3), bn_steps, (6, 3), scale=2))
    c.append(case("BatchNorm1d 3-D momentum None", layer("BatchNorm1d", 3, momentum=None),
                  bn_steps, (4, 3, 5), scale=2))
    c.append(case("BatchNorm2d", layer("BatchNorm2d", 4), bn_steps, (3, 4, 3, 3), scale=2))
    c.append(case("BatchNorm2d momentum 0.5 eps", layer("BatchNorm2d", 2, momentum=0.5, eps=1e-3),
                  bn_steps, (2, 2, 3, 3), scale=2))
    c.append(case("BatchNorm2d momentum None", layer("BatchNorm2d", 2, momentum=None), bn_steps,
                  (2, 2, 3, 3), scale=2))
    c.append(case("BatchNorm2d affine False", layer("BatchNorm2d", 3, affine=False), bn_steps,
                  (2, 3, 3, 3), scale=2))
    c.append(case("BatchNorm2d no running stats",
                  layer("BatchNorm2d", 3, track_running_stats=False), [True, False],
                  (2, 3, 3, 3), scale=2))
    # ---- shape layers
    c.append(case("Flatten default", layer("Flatten"), T, (2, 3, 2, 2)))
    c.append(case("Flatten 0 2", layer("Flatten", 0, 2), T, (2, 3, 2, 2)))
    c.append(case("Flatten -2 -1", layer("Flatten", -2, -1), T, (2, 3, 2, 2)))
    c.append(case("Identity", layer("Identity"), T, (2, 3)))
    # ---- containers and blocks
    nested = sequential(layer("Conv2d", 3, 4, 3), layer("BatchNorm2d", 4), layer("ReLU"),
                        sequential(layer("Linear", 3, 2), layer("ReLU")))
    c.append(case("Sequential nested", nested, [True, True, False], (2, 3, 5, 5)))
    lenet_ish = sequential(layer("Conv2d", 1, 3, 3, padding=1), layer("ReLU", inplace=True),
                           layer("MaxPool2d", 2), layer("Conv2d", 3, 4, 3), layer("Tanh"),
                           layer("AvgPool2d", 2), layer("Flatten"), layer("Linear", 4, 5),
                           layer("Sigmoid"), layer("Dropout", 0.0), layer("Linear", 5, 3),
                           layer("LogSoftmax", 1))
    c.append(case("Sequential LeNet-like", lenet_ish, T, (2, 1, 8, 8)))
    res = residual(sequential(layer("Conv2d", 2, 2, 3, padding=1), layer("BatchNorm2d", 2),
                              layer("ReLU"), layer("Conv2d", 2, 2, 3, padding=1)))
    c.append(case("Residual identity shortcut", res, [True, False], (2, 2, 4, 4)))
    res_down = residual(layer("Conv2d", 2, 3, 3, stride=2, padding=1),
                        sequential(layer("Conv2d", 2, 3, 1, stride=2, bias=False),
                                   layer("BatchNorm2d", 3)))
    c.append(case("Residual projection shortcut", res_down, T, (2, 2, 5, 5)))
    inception = concat([
        layer("Conv2d", 3, 2, 1),
        sequential(layer("Conv2d", 3, 2, 1), layer("ReLU"), layer("Conv2d", 2, 3, 3, padding=1)),
        sequential(layer("MaxPool2d", 3, stride=1, padding=1), layer("Conv2d", 3, 2, 1)),
    ])
    c.append(case("Concat inception", inception, T, (1, 3, 4, 4)))
    c.append(case("Concat dim -1", concat([layer("Identity"), layer("Tanh")], dim=-1), T, (2, 3)))
    return c


def main():
    data = {"cases": cases()}
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(data['cases'])} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
