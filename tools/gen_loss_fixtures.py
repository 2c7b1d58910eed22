#!/usr/bin/env python3
"""Writes tests/fixtures/losses.json: PyTorch golden values (forward and input gradient) for every
loss in losses/, over its reductions and options.

Run from the repository root:  /usr/bin/python3 tools/gen_loss_fixtures.py

Inputs are rounded to 4 decimals and cast to float32, so they are exactly what the TypeScript test
sees after Float32Array.from(). Goldens are computed in float64 from those values (the exact answer
the float32 code approximates) and written with 7 significant digits. The input gradient is that of
sum(output * gy) for a fixed upstream gradient gy (a scalar 0.7 for "mean"/"sum"/"batchmean", a
seeded tensor for "none").

StructuredLoss has no PyTorch counterpart; its golden is the lecture's formula written out with
torch ops: eps * logsumexp((L[y] + F) / eps) - F[y], or max(L[y] + F) - F[y] for eps = 0.
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "losses.json")

gen = torch.Generator().manual_seed(1234)
REDS = ["mean", "sum", "none"]


def q(t):
    """Rounds to 4 decimals and to float32, then back to float64."""
    return (torch.round(t.double() * 10000) / 10000).float().double()


def randn(*shape, scale=1.0):
    return q(torch.randn(shape, generator=gen, dtype=torch.float64) * scale)


def rand(*shape, lo=0.0, hi=1.0):
    return q(torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo)


def randint(hi, *shape):
    return torch.randint(0, hi, shape, generator=gen)


def enc(t, dtype="float32"):
    t = t.detach()
    if dtype == "int32":
        data = [int(v) for v in t.flatten().tolist()]
    else:
        data = [float("%.7g" % v) for v in t.double().flatten().tolist()]
    return {"shape": list(t.shape), "data": data, "dtype": dtype}


cases = []


def add(name, loss, fn, x, target, options, tdtype="float32"):
    """Records fn(x) and d(sum(fn(x) * gy))/dx."""
    xg = x.clone().requires_grad_(True)
    y = fn(xg)
    if y.dim() == 0:
        gy = torch.tensor(0.7, dtype=torch.float64)
    else:
        gy = randn(*y.shape)
    (g,) = torch.autograd.grad((y * gy).sum(), xg)
    opts = {}
    for k, v in options.items():
        opts[k] = enc(v) if isinstance(v, torch.Tensor) else v
    cases.append({
        "name": name,
        "loss": loss,
        "options": opts,
        "input": enc(x),
        "target": enc(target, tdtype),
        "output": enc(y),
        "gy": enc(gy),
        "grad": enc(g),
    })


# ------------------------------------------------------------------ CrossEntropyLoss
N, C = 4, 5
for red in REDS:
    x = randn(N, C, scale=2)
    t = randint(C, N)
    w = rand(C, lo=0.2, hi=2)
    ce = lambda **kw: (lambda z: F.cross_entropy(z, t, reduction=red, **kw))
    add(f"ce {red}", "CrossEntropyLoss", ce(), x, t, {"reduction": red}, "int32")
    add(f"ce weight {red}", "CrossEntropyLoss", ce(weight=w), x, t,
        {"reduction": red, "weight": w}, "int32")
    ti = t.clone()
    ti[1] = -100
    add(f"ce ignore -100 {red}", "CrossEntropyLoss",
        lambda z: F.cross_entropy(z, ti, reduction=red), x, ti, {"reduction": red}, "int32")
    t2 = torch.tensor([2, 0, 2, 4])
    add(f"ce ignoreIndex 2 weight {red}", "CrossEntropyLoss",
        lambda z: F.cross_entropy(z, t2, weight=w, ignore_index=2, reduction=red), x, t2,
        {"reduction": red, "weight": w, "ignoreIndex": 2}, "int32")
    add(f"ce smoothing {red}", "CrossEntropyLoss", ce(label_smoothing=0.1), x, t,
        {"reduction": red, "labelSmoothing": 0.1}, "int32")
    add(f"ce smoothing weight ignore {red}", "CrossEntropyLoss",
        lambda z: F.cross_entropy(z, t2, weight=w, ignore_index=2, label_smoothing=0.2,
                                  reduction=red), x, t2,
        {"reduction": red, "weight": w, "ignoreIndex": 2, "labelSmoothing": 0.2}, "int32")
    p = q(torch.softmax(randn(N, C), 1))
    cep = lambda **kw: (lambda z: F.cross_entropy(z, p, reduction=red, **kw))
    add(f"ce probs {red}", "CrossEntropyLoss", cep(), x, p, {"reduction": red})
    add(f"ce probs weight smoothing {red}", "CrossEntropyLoss", cep(weight=w, label_smoothing=0.1),
        x, p, {"reduction": red, "weight": w, "labelSmoothing": 0.1})
    x3 = randn(2, C, 3)
    t3 = randint(C, 2, 3)
    add(f"ce [N,C,d] {red}", "CrossEntropyLoss",
        lambda z: F.cross_entropy(z, t3, weight=w, reduction=red), x3, t3,
        {"reduction": red, "weight": w}, "int32")
    x1 = randn(C)
    t1 = torch.tensor(3)
    add(f"ce [C] {red}", "CrossEntropyLoss", lambda z: F.cross_entropy(z, t1, reduction=red), x1,
        t1, {"reduction": red}, "int32")
    xe = torch.tensor([[60.0, -60, 0, 100, -100], [-100, 100, 60, -60, 0], [100, 99, -100, 0, 1],
                       [-60, -60, -60, -60, -60]], dtype=torch.float64)
    te = torch.tensor([0, 1, 2, 4])
    add(f"ce extreme {red}", "CrossEntropyLoss",
        lambda z: F.cross_entropy(z, te, reduction=red), xe, te, {"reduction": red}, "int32")

# ------------------------------------------------------------------ NLLLoss
for red in REDS:
    x = q(torch.log_softmax(randn(N, C), 1))
    t = randint(C, N)
    w = rand(C, lo=0.2, hi=2)
    add(f"nll {red}", "NLLLoss", lambda z: F.nll_loss(z, t, reduction=red), x, t,
        {"reduction": red}, "int32")
    add(f"nll weight {red}", "NLLLoss", lambda z: F.nll_loss(z, t, weight=w, reduction=red), x, t,
        {"reduction": red, "weight": w}, "int32")
    t2 = torch.tensor([1, 3, 1, 0])
    add(f"nll ignore weight {red}", "NLLLoss",
        lambda z: F.nll_loss(z, t2, weight=w, ignore_index=1, reduction=red), x, t2,
        {"reduction": red, "weight": w, "ignoreIndex": 1}, "int32")
    x3 = randn(2, C, 3)
    t3 = randint(C, 2, 3)
    add(f"nll [N,C,d] {red}", "NLLLoss", lambda z: F.nll_loss(z, t3, reduction=red), x3, t3,
        {"reduction": red}, "int32")

# ------------------------------------------------------------------ regression losses
for red in REDS:
    x, y = randn(3, 4), randn(3, 4)
    add(f"mse {red}", "MSELoss", lambda z: F.mse_loss(z, y, reduction=red), x, y,
        {"reduction": red})
    add(f"l1 {red}", "L1Loss", lambda z: F.l1_loss(z, y, reduction=red), x, y, {"reduction": red})
    for beta in [1.0, 0.5, 0.0]:
        add(f"smoothL1 beta {beta} {red}", "SmoothL1Loss",
            lambda z: F.smooth_l1_loss(z, y, reduction=red, beta=beta), x, y,
            {"reduction": red, "beta": beta})

# ------------------------------------------------------------------ binary losses
for red in REDS:
    x = rand(3, 4, lo=0.05, hi=0.95)
    y = rand(3, 4)
    y[0, :2] = torch.tensor([0.0, 1.0], dtype=torch.float64)
    w = rand(4, lo=0.2, hi=2)
    add(f"bce {red}", "BCELoss", lambda z: F.binary_cross_entropy(z, y, reduction=red), x, y,
        {"reduction": red})
    add(f"bce weight {red}", "BCELoss",
        lambda z: F.binary_cross_entropy(z, y, weight=w, reduction=red), x, y,
        {"reduction": red, "weight": w})
    xl = randn(3, 4, scale=3)
    xl[1, :] = torch.tensor([60.0, -60, 100, -100], dtype=torch.float64)
    xl[2, 0] = 0.0
    pw = rand(4, lo=0.5, hi=3)
    bl = lambda **kw: (lambda z: F.binary_cross_entropy_with_logits(z, y, reduction=red, **kw))
    add(f"bceLogits {red}", "BCEWithLogitsLoss", bl(), xl, y, {"reduction": red})
    add(f"bceLogits weight {red}", "BCEWithLogitsLoss", bl(weight=w), xl, y,
        {"reduction": red, "weight": w})
    add(f"bceLogits posWeight {red}", "BCEWithLogitsLoss", bl(pos_weight=pw), xl, y,
        {"reduction": red, "posWeight": pw})
    add(f"bceLogits weight posWeight {red}", "BCEWithLogitsLoss", bl(weight=w, pos_weight=pw), xl,
        y, {"reduction": red, "weight": w, "posWeight": pw})

# ------------------------------------------------------------------ KLDivLoss
for red in REDS + ["batchmean"]:
    x = q(torch.log_softmax(randn(3, 4), 1))
    p = q(torch.softmax(randn(3, 4, scale=2), 1))
    p[0, 1] = 0.0
    add(f"kl {red}", "KLDivLoss", lambda z: F.kl_div(z, p, reduction=red), x, p,
        {"reduction": red})
    lp = q(torch.log_softmax(randn(3, 4), 1))
    add(f"kl logTarget {red}", "KLDivLoss",
        lambda z: F.kl_div(z, lp, reduction=red, log_target=True), x, lp,
        {"reduction": red, "logTarget": True})

# ------------------------------------------------------------------ margin losses
for red in REDS:
    x = randn(N, C)
    t = randint(C, N)
    w = rand(C, lo=0.2, hi=2)
    mm = lambda **kw: (lambda z: F.multi_margin_loss(z, t, reduction=red, **kw))
    add(f"multiMargin {red}", "MultiMarginLoss", mm(), x, t, {"reduction": red}, "int32")
    add(f"multiMargin p2 margin {red}", "MultiMarginLoss", mm(p=2, margin=0.5), x, t,
        {"reduction": red, "p": 2, "margin": 0.5}, "int32")
    add(f"multiMargin weight {red}", "MultiMarginLoss", mm(weight=w), x, t,
        {"reduction": red, "weight": w}, "int32")
    d = randn(3, 4, scale=1.5)
    s = (randint(2, 3, 4) * 2 - 1).double()
    for margin in [1.0, 2.0]:
        add(f"hingeEmbedding margin {margin} {red}", "HingeEmbeddingLoss",
            lambda z: F.hinge_embedding_loss(z, s, margin=margin, reduction=red), d, s,
            {"reduction": red, "margin": margin})


# ------------------------------------------------------------------ StructuredLoss
def structured(scores, target, task, eps, red):
    a = task[target] + scores
    if eps == 0:
        soft = a.max(1).values
    else:
        soft = eps * torch.logsumexp(a / eps, 1)
    loss = soft - scores.gather(1, target.unsqueeze(1)).squeeze(1)
    return loss if red == "none" else loss.sum() if red == "sum" else loss.mean()


zero_one = 1 - torch.eye(C, dtype=torch.float64)
for red in REDS:
    x = randn(N, C, scale=2)
    t = randint(C, N)
    rnd = rand(C, C, lo=0.5, hi=2) * zero_one
    for eps in [1.0, 0.5, 0.0]:
        add(f"structured 0/1 eps {eps} {red}", "StructuredLoss",
            lambda z: structured(z, t, zero_one, eps, red), x, t,
            {"reduction": red, "epsilon": eps, "taskLoss": zero_one}, "int32")
        add(f"structured random L eps {eps} {red}", "StructuredLoss",
            lambda z: structured(z, t, rnd, eps, red), x, t,
            {"reduction": red, "epsilon": eps, "taskLoss": rnd}, "int32")
    add(f"structured small eps {red}", "StructuredLoss",
        lambda z: structured(z, t, zero_one, 0.01, red), x, t,
        {"reduction": red, "epsilon": 0.01, "taskLoss": zero_one}, "int32")

with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
