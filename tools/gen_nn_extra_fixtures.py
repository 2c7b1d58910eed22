#!/usr/bin/env python3
"""Writes tests/fixtures/nn_extra.json: PyTorch golden values for the layers of issue 12
(Embedding, LayerNorm, GroupNorm, InstanceNorm1d/2d, RMSNorm, Conv1d, ConvTranspose2d, Upsample,
AdaptiveMaxPool2d, Dropout2d, the extra activations and the containers).

Run from the repository root:  /usr/bin/python3 tools/gen_nn_extra_fixtures.py

The layout follows tools/gen_layer_fixtures.py: each case is a module spec ({"type", "args",
"options"}) that tests/layers/nn_extra_test.ts builds with denn, and the same module built with
torch.nn. Parameters are drawn by PyTorch (seeded; norm weights and PReLU slopes are randomised so
the affine part is exercised), rounded to 4 decimals and exported as the state dict the denn module
loads, so the test also checks that PyTorch's parameter names, shapes and layouts load unchanged.
Inputs and upstream gradients are rounded to 3 decimals; goldens are computed in float64 from these
float32-exact values and rounded to 7 significant digits.

The local PyTorch is 1.13, which has no RMSNorm: the reference is written here by hand with
PyTorch 2.4's definition, x / sqrt(mean(x^2) + eps) * weight with eps defaulting to
torch.finfo(float32).eps (the dtype the denn test runs in).

Besides the module cases: "kinks" holds each activation's value and gradient at its kinks and
other exact points (0, +-3, 6, the bounds), "hooks" the grad_input / grad_output a full backward
hook sees, and "containers" a ModuleList / ModuleDict state dict.
"""

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_layer_fixtures import Spec, camel, enc, enc_exact, enc_state, jsonable, layer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "nn_extra.json")

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(4321)
EPS32 = float(torch.finfo(torch.float32).eps)


class TorchRMSNorm(nn.Module):
    """PyTorch 2.4's nn.RMSNorm (absent from 1.13), parameter `weight`."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps = eps
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        dims = tuple(range(-len(self.normalized_shape), 0))
        eps = EPS32 if self.eps is None else self.eps
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        return y if self.weight is None else y * self.weight


def rms(normalized_shape, **kwargs):
    return Spec(TorchRMSNorm(normalized_shape, **kwargs),
                {"type": "RMSNorm", "args": [jsonable(normalized_shape)],
                 "options": {camel(k): v for k, v in kwargs.items()}})


def rounded(shape, decimals=3, scale=1.0):
    t = torch.randn(shape, generator=GEN, dtype=torch.float64) * scale
    return (torch.round(t * 10 ** decimals) / 10 ** decimals).float().double()


def case(name, spec, steps, in_shape, scale=1.0, nonleaf=False, randomize=False, ids=None):
    """`steps`: training flags, one forward/backward each. `ids`: (high, shape) for int inputs."""
    m = spec.module
    with torch.no_grad():
        for p in m.parameters():
            if randomize:
                p.copy_(torch.randn(p.shape, generator=GEN) * 0.5 + (1.0 if p.dim() else 0.0))
            p.copy_(torch.round(p * 1e4) / 1e4)
    m = m.double()
    state = enc_state(m.state_dict(), exact=True)
    out_steps = []
    for training in steps:
        m.train(training)
        if ids is not None:
            x = torch.randint(0, ids[0], ids[1], generator=GEN)
            if "fixed" in spec.spec:
                x = torch.tensor(spec.spec.pop("fixed"))
        else:
            x = rounded(in_shape, scale=scale).requires_grad_()
        m.zero_grad()
        y = m(x * 1 if nonleaf else x)
        g = rounded(tuple(y.shape))
        (y * g).sum().backward()
        out_steps.append({
            "training": training,
            "x": [int(v) for v in x.flatten().tolist()] if ids is not None else enc_exact(x.detach()),
            "g": enc_exact(g),
            "y": enc(y.detach()),
            "yShape": list(y.shape),
            "dx": None if ids is not None else enc(x.grad),
            "grads": {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None},
            "stateAfter": enc_state(m.state_dict()),
        })
    return {"name": name, "spec": spec.spec, "inShape": list(ids[1] if ids else in_shape),
            "intInput": ids is not None, "nonLeafInput": nonleaf, "state": state,
            "stateKeys": list(m.state_dict().keys()), "steps": out_steps}


T = [True]
E = [False]


def cases():
    c = []
    # ---- Embedding (int ids; the padding row gets no gradient; max_norm renormalises in place)
    c.append(case("Embedding", layer("Embedding", 7, 4), T, None, ids=(7, (2, 5))))
    pad = layer("Embedding", 6, 3, padding_idx=2)
    pad.spec["fixed"] = [[2, 0, 2, 5], [1, 2, 3, 2]]
    c.append(case("Embedding paddingIdx", pad, T, None, ids=(6, (2, 4))))
    neg = layer("Embedding", 5, 3, padding_idx=-1)
    neg.spec["fixed"] = [4, 4, 0, 1]
    c.append(case("Embedding paddingIdx -1", neg, T, None, ids=(5, (4,))))
    c.append(case("Embedding maxNorm", layer("Embedding", 6, 3, max_norm=1.0), [True, True],
                  None, ids=(6, (3, 2))))
    c.append(case("Embedding maxNorm p1", layer("Embedding", 6, 3, max_norm=1.5, norm_type=1.0),
                  T, None, ids=(6, (5,))))
    # ---- normalisation
    c.append(case("LayerNorm 4", layer("LayerNorm", 4), T, (2, 3, 4), scale=2, randomize=True))
    c.append(case("LayerNorm [3, 4] eps", layer("LayerNorm", [3, 4], eps=1e-3), T, (2, 3, 4),
                  scale=2, randomize=True))
    c.append(case("LayerNorm no affine", layer("LayerNorm", 5, elementwise_affine=False), T,
                  (3, 5), scale=2))
    c.append(case("GroupNorm 2 of 4", layer("GroupNorm", 2, 4), T, (2, 4, 3, 3), scale=2,
                  randomize=True))
    c.append(case("GroupNorm 1 no affine", layer("GroupNorm", 1, 3, affine=False), T,
                  (2, 3, 5), scale=2))
    c.append(case("GroupNorm 6 of 6 eps", layer("GroupNorm", 6, 6, eps=1e-2), T, (2, 6, 4),
                  scale=2, randomize=True))
    c.append(case("InstanceNorm2d", layer("InstanceNorm2d", 3), [True, False], (2, 3, 4, 4),
                  scale=2))
    c.append(case("InstanceNorm2d affine", layer("InstanceNorm2d", 3, affine=True), T,
                  (2, 3, 3, 4), scale=2, randomize=True))
    c.append(case("InstanceNorm2d track", layer("InstanceNorm2d", 2, affine=True,
                                                track_running_stats=True, momentum=0.3),
                  [True, True, False], (3, 2, 3, 3), scale=2, randomize=True))
    c.append(case("InstanceNorm2d unbatched", layer("InstanceNorm2d", 3), T, (3, 4, 4), scale=2))
    c.append(case("InstanceNorm1d track", layer("InstanceNorm1d", 3, track_running_stats=True),
                  [True, False], (2, 3, 6), scale=2))
    c.append(case("RMSNorm 4", rms(4), T, (2, 3, 4), scale=2, randomize=True))
    c.append(case("RMSNorm [3, 4] eps", rms([3, 4], eps=1e-3), T, (2, 3, 4), scale=2,
                  randomize=True))
    c.append(case("RMSNorm no affine", rms(5, elementwise_affine=False), T, (3, 5), scale=2))
    # ---- Conv1d
    c.append(case("Conv1d basic", layer("Conv1d", 3, 4, 3), T, (2, 3, 8)))
    c.append(case("Conv1d stride pad", layer("Conv1d", 3, 4, 3, stride=2, padding=1), T,
                  (2, 3, 9)))
    c.append(case("Conv1d dilation groups no bias", layer("Conv1d", 4, 6, 3, dilation=2,
                                                          groups=2, bias=False), T, (1, 4, 10)))
    c.append(case("Conv1d same even", layer("Conv1d", 2, 3, 4, padding="same"), T, (2, 2, 7)))
    c.append(case("Conv1d valid", layer("Conv1d", 2, 3, 3, padding="valid"), T, (1, 2, 6)))
    c.append(case("Conv1d unbatched", layer("Conv1d", 2, 3, 3, padding=1), T, (2, 5)))
    # ---- ConvTranspose2d
    c.append(case("ConvTranspose2d basic", layer("ConvTranspose2d", 3, 4, 3), T, (2, 3, 4, 4)))
    c.append(case("ConvTranspose2d stride 2 pad 1 outpad 1",
                  layer("ConvTranspose2d", 3, 2, 3, stride=2, padding=1, output_padding=1), T,
                  (2, 3, 4, 4)))
    c.append(case("ConvTranspose2d groups no bias",
                  layer("ConvTranspose2d", 4, 6, 3, groups=2, bias=False, padding=1), T,
                  (1, 4, 3, 3)))
    c.append(case("ConvTranspose2d rectangular dilation",
                  layer("ConvTranspose2d", 2, 3, (2, 3), stride=(2, 1), padding=(1, 0),
                        dilation=(1, 2)), T, (1, 2, 3, 4)))
    c.append(case("ConvTranspose2d outpad above stride",
                  layer("ConvTranspose2d", 2, 2, 2, stride=2, dilation=3, output_padding=2), T,
                  (1, 2, 3, 3)))
    c.append(case("ConvTranspose2d unbatched", layer("ConvTranspose2d", 2, 3, 2, stride=2), T,
                  (2, 3, 3)))
    # ---- Upsample / interpolate
    c.append(case("Upsample nearest x2", layer("Upsample", scale_factor=2), T, (1, 2, 3, 4)))
    c.append(case("Upsample nearest size", layer("Upsample", size=(5, 7)), T, (1, 2, 3, 4)))
    c.append(case("Upsample nearest x1.5", layer("Upsample", scale_factor=1.5), T, (1, 1, 5, 3)))
    c.append(case("Upsample nearest down", layer("Upsample", size=(2, 3)), T, (1, 1, 5, 7)))
    c.append(case("Upsample nearest-exact x1.5", layer("Upsample", scale_factor=1.5,
                                                       mode="nearest-exact"), T, (1, 1, 5, 3)))
    c.append(case("Upsample nearest 3-D", layer("Upsample", scale_factor=3), T, (2, 2, 4)))
    c.append(case("Upsample nearest 5-D", layer("Upsample", size=(3, 2, 5)), T, (1, 1, 2, 3, 3)))
    c.append(case("Upsample linear", layer("Upsample", scale_factor=2.5, mode="linear"), T,
                  (2, 2, 4)))
    c.append(case("Upsample linear align", layer("Upsample", size=7, mode="linear",
                                                 align_corners=True), T, (1, 2, 4)))
    c.append(case("Upsample bilinear x2", layer("Upsample", scale_factor=2, mode="bilinear"), T,
                  (1, 2, 3, 4)))
    c.append(case("Upsample bilinear align", layer("Upsample", size=(5, 6), mode="bilinear",
                                                   align_corners=True), T, (1, 2, 3, 4)))
    c.append(case("Upsample bilinear down", layer("Upsample", scale_factor=0.6, mode="bilinear"),
                  T, (1, 1, 6, 7)))
    c.append(case("Upsample bilinear x1.7 recompute",
                  layer("Upsample", scale_factor=(1.7, 1.3), mode="bilinear",
                        recompute_scale_factor=True), T, (1, 2, 4, 5)))
    c.append(case("Upsample bilinear x1.7", layer("Upsample", scale_factor=(1.7, 1.3),
                                                  mode="bilinear"), T, (1, 2, 4, 5)))
    c.append(case("UpsamplingNearest2d", layer("UpsamplingNearest2d", scale_factor=2), T,
                  (1, 2, 2, 3)))
    c.append(case("UpsamplingBilinear2d", layer("UpsamplingBilinear2d", size=(4, 5)), T,
                  (1, 2, 2, 3)))
    # ---- AdaptiveMaxPool2d
    c.append(case("AdaptiveMaxPool2d 2", layer("AdaptiveMaxPool2d", 2), T, (2, 2, 5, 5)))
    c.append(case("AdaptiveMaxPool2d 3x2", layer("AdaptiveMaxPool2d", (3, 2)), T, (1, 2, 7, 5)))
    c.append(case("AdaptiveMaxPool2d None", layer("AdaptiveMaxPool2d", (None, 3)), T,
                  (1, 2, 4, 7)))
    c.append(case("AdaptiveMaxPool2d up", layer("AdaptiveMaxPool2d", (4, 5)), T, (1, 1, 3, 3)))
    c.append(case("AdaptiveMaxPool2d unbatched", layer("AdaptiveMaxPool2d", 2), T, (3, 4, 5)))
    # ---- Dropout2d: deterministic edge cases (masks are checked statistically in TS)
    c.append(case("Dropout2d p 0 train", layer("Dropout2d", 0.0), T, (2, 3, 2, 2)))
    c.append(case("Dropout2d p 1 train", layer("Dropout2d", 1.0), T, (2, 3, 2, 2)))
    c.append(case("Dropout2d eval", layer("Dropout2d", 0.5), E, (2, 3, 2, 2)))
    # ---- activations
    c.append(case("SiLU", layer("SiLU"), T, (2, 3, 4), scale=3))
    c.append(case("SiLU inplace", layer("SiLU", inplace=True), T, (2, 3, 4), scale=3,
                  nonleaf=True))
    c.append(case("ELU", layer("ELU"), T, (2, 3, 4), scale=2))
    c.append(case("ELU 0.5 inplace", layer("ELU", 0.5, inplace=True), T, (2, 3, 4), scale=2,
                  nonleaf=True))
    c.append(case("Softplus", layer("Softplus"), T, (2, 3, 4), scale=3))
    c.append(case("Softplus beta 2 threshold 5", layer("Softplus", 2, 5), T, (2, 3, 4), scale=4))
    c.append(case("Mish", layer("Mish"), T, (2, 3, 4), scale=3))
    c.append(case("ReLU6", layer("ReLU6"), T, (2, 3, 4), scale=5))
    c.append(case("ReLU6 inplace", layer("ReLU6", inplace=True), T, (2, 3, 4), scale=5,
                  nonleaf=True))
    c.append(case("Hardtanh", layer("Hardtanh"), T, (2, 3, 4), scale=2))
    c.append(case("Hardtanh -0.5 2", layer("Hardtanh", -0.5, 2.0), T, (2, 3, 4), scale=2))
    c.append(case("Hardswish", layer("Hardswish"), T, (2, 3, 4), scale=4))
    c.append(case("Hardswish inplace", layer("Hardswish", inplace=True), T, (2, 3, 4), scale=4,
                  nonleaf=True))
    c.append(case("Hardsigmoid", layer("Hardsigmoid"), T, (2, 3, 4), scale=4))
    c.append(case("PReLU", layer("PReLU"), T, (2, 3, 4), scale=2))
    c.append(case("PReLU 3 channels", layer("PReLU", 3, 0.1), T, (2, 3, 4), scale=2,
                  randomize=True))
    c.append(case("PReLU 4-D", layer("PReLU", 2), T, (2, 2, 3, 3), scale=2, randomize=True))
    return c


def kinks():
    """Each activation at its kinks and exact breakpoints, with g = 1."""
    x = torch.tensor([-21.0, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 10.0, 21.0, 100.0],
                     dtype=torch.float64)
    fns = {
        "silu": lambda t: F.silu(t),
        "elu": lambda t: F.elu(t),
        "elu alpha 0.5": lambda t: F.elu(t, 0.5),
        "softplus": lambda t: F.softplus(t),
        "softplus beta 2 threshold 5": lambda t: F.softplus(t, 2, 5),
        "mish": lambda t: F.mish(t),
        "relu6": lambda t: F.relu6(t),
        "hardtanh": lambda t: F.hardtanh(t),
        "hardtanh -3 6": lambda t: F.hardtanh(t, -3.0, 6.0),
        "hardswish": lambda t: F.hardswish(t),
        "hardsigmoid": lambda t: F.hardsigmoid(t),
        "prelu": lambda t: F.prelu(t, torch.tensor([0.25], dtype=torch.float64)),
    }
    out = []
    for name, f in fns.items():
        xi = x.clone().requires_grad_()
        y = f(xi)
        y.sum().backward()
        out.append({"name": name, "x": enc_exact(x), "y": enc(y.detach()), "dx": enc(xi.grad)})
    return out


def hooks():
    """grad_input / grad_output of a full backward hook on the Linear of Linear -> Tanh."""
    lin = nn.Linear(3, 2).double()
    with torch.no_grad():
        for p in lin.parameters():
            p.copy_(torch.round(p * 1e4) / 1e4)
    seen = {}

    def hook(_m, gi, go):
        seen["gradInput"] = enc(gi[0])
        seen["gradOutput"] = enc(go[0])

    lin.register_full_backward_hook(hook)
    x = rounded((4, 3)).requires_grad_()
    y = torch.tanh(lin(x))
    g = rounded(tuple(y.shape))
    (y * g).sum().backward()
    return {"state": enc_state(lin.state_dict(), exact=True), "x": enc_exact(x.detach()),
            "g": enc_exact(g), **seen}


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 4), nn.ReLU(), nn.Conv1d(4, 2, 1)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 5), "norm": nn.LayerNorm(2),
                                    "emb": nn.Embedding(3, 2)})


def containers():
    m = Holder()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.round(p * 1e4) / 1e4)
    sd = m.state_dict()
    return {"keys": list(sd.keys()), "shapes": {k: list(v.shape) for k, v in sd.items()},
            "state": enc_state(sd, exact=True)}


def main():
    data = {"cases": cases(), "kinks": kinks(), "hooks": hooks(), "containers": containers()}
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(data['cases'])} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
