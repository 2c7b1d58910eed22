#!/usr/bin/env python3
"""Writes tests/fixtures/cross_entropy_fused.json: PyTorch goldens for the fused cross-entropy
(F.cross_entropy with class-index targets on [N, C] logits) in the cases tests/fixtures/losses.json
does not cover: every target ignored ("mean" is NaN, the gradient 0), logits of magnitude 1e4,
more classes than a webgpu workgroup (C = 270) with a weight and ignored rows, a non-default
ignoreIndex, and an empty batch.

Run from the repository root:  /usr/bin/python3 tools/gen_cross_entropy_fused_fixtures.py

As in gen_loss_fixtures.py, inputs are rounded to 4 decimals and to float32; goldens are float64
results over those values with 7 significant digits; the gradient is that of sum(loss * gy), gy a
scalar 0.7 for "mean"/"sum" and a seeded tensor for "none".
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "cross_entropy_fused.json")

gen = torch.Generator().manual_seed(4321)


def q(t):
    return (torch.round(t.double() * 10000) / 10000).float().double()


def randn(*shape, scale=1.0):
    return q(torch.randn(shape, generator=gen, dtype=torch.float64) * scale)


def enc(t, dtype="float32"):
    t = t.detach()
    if dtype == "int32":
        data = [int(v) for v in t.flatten().tolist()]
    else:
        data = [None if v != v else float("%.7g" % v) for v in t.double().flatten().tolist()]
    return {"shape": list(t.shape), "data": data, "dtype": dtype}


cases = []


def add(name, x, target, reduction="mean", weight=None, ignore_index=-100):
    xg = x.clone().requires_grad_(True)
    y = F.cross_entropy(xg, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    gy = torch.tensor(0.7, dtype=torch.float64) if y.dim() == 0 else randn(*y.shape)
    (g,) = torch.autograd.grad((y * gy).sum(), xg)
    options = {"reduction": reduction, "ignoreIndex": ignore_index}
    if weight is not None:
        options["weight"] = enc(weight)
    cases.append({"name": name, "options": options, "input": enc(x),
                  "target": enc(target, "int32"), "output": enc(y), "gy": enc(gy),
                  "grad": enc(g)})


for red in ["mean", "sum", "none"]:
    add(f"all ignored {red}", randn(3, 4), torch.tensor([-100, -100, -100]), red)
    add(f"logits 1e4 {red}", randn(4, 6, scale=1e4), torch.tensor([0, 5, 2, 3]), red)
    if red != "sum":  # kept small: the widest rows only where the reductions differ most
        w = q(torch.rand(270, generator=gen, dtype=torch.float64) * 1.8 + 0.2)
        t = torch.randint(0, 270, (3,), generator=gen)
        t[1] = -100
        add(f"C=270 weight ignore {red}", randn(3, 270, scale=3), t, red, weight=w)
    add(f"ignoreIndex 3 {red}", randn(4, 5), torch.tensor([3, 0, 3, 4]), red, ignore_index=3)
    add(f"empty batch {red}", randn(0, 4), torch.zeros(0, dtype=torch.long), red)

with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {OUT}")
