#!/usr/bin/env python3
"""Writes tests/fixtures/autograd_grad.json: PyTorch golden values for torch.autograd.grad,
create_graph and double backward, read by tests/core/autograd_grad_test.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_autograd_fixtures.py

Each case holds named inputs and named expected tensors (null where PyTorch gives None). Inputs
are rounded to 3 decimals and cast to float32, so they are exactly what the TypeScript test builds
with Float32Array.from(); the reference is then computed in float64 from those float32 values and
written with 7 significant digits.

Cases:
  wgan-gp   Linear(3,5)-Tanh-Linear(5,4)-ReLU-Linear(4,1) on x [6,3];
            g = grad(out.sum(), x, create_graph); penalty = ((‖g‖ per row − 1)²).mean();
            penalty.backward(): the parameter and x gradients.
  hvp       f(x, W) with sigmoid, exp, log, matmul, softmax, log_softmax and mean;
            g = grad(f, x, create_graph); grad((g·v).sum(), [x, W]).
  non-leaf  gradients w.r.t. intermediate tensors, with and without grad_outputs.
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "autograd_grad.json")

gen = torch.Generator().manual_seed(2024)


def rnd(*shape, scale=1.0, lo=None, hi=None):
    if lo is not None:
        t = torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo
    else:
        t = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    return (torch.round(t * 1000) / 1000).float().double()


def enc_in(t):
    return {"shape": list(t.shape), "data": [float("%.3f" % v) for v in t.flatten().tolist()]}


def enc_out(t):
    if t is None:
        return None
    t = t.detach()
    return {"shape": list(t.shape), "data": [float("%.7g" % v) for v in t.flatten().tolist()]}


cases = {}

# ------------------------------------------------------------------ (a) WGAN-GP gradient penalty

p = {
    "x": rnd(6, 3),
    "w1": rnd(5, 3, scale=0.6), "b1": rnd(5, scale=0.3),
    "w2": rnd(4, 5, scale=0.6), "b2": rnd(4, lo=0.1, hi=0.5),
    "w3": rnd(1, 4, scale=0.6), "b3": rnd(1, scale=0.3),
}
leaves = {k: v.clone().requires_grad_() for k, v in p.items()}
L = leaves
h2 = F.linear(torch.tanh(F.linear(L["x"], L["w1"], L["b1"])), L["w2"], L["b2"])
# ReLU's kink: keep every pre-activation clear of 0 so float32 and float64 agree on the mask.
assert h2.detach().abs().min() > 1e-3, h2.detach().abs().min()
out = F.linear(torch.relu(h2), L["w3"], L["b3"])
(g,) = torch.autograd.grad(out.sum(), L["x"], create_graph=True)
# A row of g that is all zeros (every ReLU off) would make the norm's gradient 0/0.
assert g.detach().norm(2, dim=1).min() > 1e-2
penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
cases["wgan-gp"] = {
    "inputs": {k: enc_in(v) for k, v in p.items()},
    "expect": {
        "out": enc_out(out), "g": enc_out(g), "penalty": enc_out(penalty),
        **{f"grad_{k}": enc_out(v.grad) for k, v in leaves.items()},
    },
}

# ------------------------------------------------------------------ (b) Hessian-vector product

p = {
    "x": rnd(3, 4), "w": rnd(4, 4, scale=0.7), "v": rnd(3, 4), "t": rnd(3, 4, lo=0, hi=1),
}
x = p["x"].clone().requires_grad_()
w = p["w"].clone().requires_grad_()


def f(x, w, t):
    h = torch.sigmoid(x) @ w
    a = (torch.softmax(h, 1) * torch.log(torch.exp(x) + 1)).mean()
    b = (torch.log_softmax(h, 1) * t).mean()
    return a - b


fx = f(x, w, p["t"])
(gx,) = torch.autograd.grad(fx, x, create_graph=True)
hx, hw = torch.autograd.grad((gx * p["v"]).sum(), [x, w])
cases["hvp"] = {
    "inputs": {k: enc_in(v) for k, v in p.items()},
    "expect": {"f": enc_out(fx), "g": enc_out(gx), "hvp_x": enc_out(hx), "hvp_w": enc_out(hw)},
}

# ------------------------------------------------------------------ (c) non-leaf inputs

p = {"x": rnd(2, 3), "w": rnd(3, 4, scale=0.7), "gu": rnd(2, 4)}
x = p["x"].clone().requires_grad_()
h = torch.tanh(x) * 2
u = h @ p["w"]
y = torch.logsumexp(u, 1).sum() + (h * h).sum()
gh, gu = torch.autograd.grad(y, [h, u], retain_graph=True)
gu2, gx = torch.autograd.grad(y, [u, x], retain_graph=True)
(vjp,) = torch.autograd.grad(u, h, grad_outputs=p["gu"])
cases["non-leaf"] = {
    "inputs": {k: enc_in(v) for k, v in p.items()},
    "expect": {"y": enc_out(y), "grad_h": enc_out(gh), "grad_u": enc_out(gu),
               "grad_x": enc_out(gx), "vjp_h": enc_out(vjp)},
}
assert torch.equal(gu, gu2)

with open(OUT, "w") as fh:
    json.dump({"generator": "tools/gen_autograd_fixtures.py", "torch": torch.__version__,
               "cases": cases}, fh, separators=(",", ":"))
print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}")
