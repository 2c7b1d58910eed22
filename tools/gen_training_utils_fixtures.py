#!/usr/bin/env python3
"""Writes tests/fixtures/training_utils.json: PyTorch goldens for the training utilities.

Run from the repository root:  /usr/bin/python3 tools/gen_training_utils_fixtures.py

- "adagrad": torch.optim.Adagrad trajectories on the problem of tools/gen_optim_fixtures.py
  (w [3, 4], v [4], loss = sum((w @ v - t)^2) + sum(c * w^2), inputs rounded to 4 decimals):
  10 steps, both parameters and the accumulator `sum` after each step (7 significant digits).
  (With parameter groups, each accumulator starts at its group's initial_accumulator_value,
  which denn honours and PyTorch ignores: the script fills them so.)
- "schedulers": the lr of each of two SGD (or Adam) parameter groups (lr 0.1 and 0.02) after
  construction and after each of 30 steps of ExponentialLR, LambdaLR, OneCycleLR (with the
  momentum, or Adam's betas[0], of each group) and ReduceLROnPlateau (fed a fixed metric sequence).
  LambdaLR's functions are named in the spec ("pow95" is 0.95 ** epoch, "invSqrt" is
  1 / sqrt(epoch + 1), "step10" is 0.5 ** (epoch // 10)); the test maps the names to functions.
- "clip": torch.nn.utils.clip_grad_norm_ / clip_grad_value_ on three parameters (one without a
  gradient): the returned total norm and the gradients afterwards, for several norm types, with
  and without clipping, and with NaN / Infinity in a gradient (non-finite numbers are written as
  the strings "NaN", "Infinity", "-Infinity").
- "safetensors": a PyTorch Sequential(Conv2d, BatchNorm2d) state dict after three training
  batches (so `1.num_batches_tracked` is the int64 3), saved as safetensors bytes written by hand
  (the python `safetensors` package is not needed) and base64-encoded, with the expected tensors
  and the model's eval-mode output for an input; plus a file of int64 index buffers holding the
  int32 extremes.

Option names are written in denn's camelCase.
"""

import base64
import json
import math
import os
import struct

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "training_utils.json")

gen = torch.Generator().manual_seed(2468)


def q(t):
    return (torch.round(t * 10000) / 10000).float()


def enc(t):
    out = []
    for x in t.detach().double().flatten().tolist():
        if math.isnan(x):
            out.append("NaN")
        elif math.isinf(x):
            out.append("Infinity" if x > 0 else "-Infinity")
        else:
            out.append(float("%.7g" % x))
    return out


def camel(s):
    head, *rest = s.split("_")
    return head + "".join(r.capitalize() for r in rest)


SNAKE = {"weightDecay": "weight_decay", "lrDecay": "lr_decay",
         "initialAccumulatorValue": "initial_accumulator_value"}


def to_torch(opts):
    return {SNAKE.get(k, k): v for k, v in opts.items() if k != "params"}


# ---- Adagrad ----------------------------------------------------------------------------------

W0 = q(torch.randn(3, 4, generator=gen, dtype=torch.float64) * 0.5)
V0 = q(torch.randn(4, generator=gen, dtype=torch.float64) * 0.5)
T = q(torch.randn(3, generator=gen, dtype=torch.float64))
Cc = q(torch.rand(3, 4, generator=gen, dtype=torch.float64))


def adagrad(name, options, groups=None):
    w = W0.clone().requires_grad_(True)
    v = V0.clone().requires_grad_(True)
    params = [w, v]
    if groups is None:
        opt = torch.optim.Adagrad(params, **to_torch(options))
    else:
        opt = torch.optim.Adagrad(
            [dict(params=[params[i] for i in g["params"]], **to_torch(g)) for g in groups],
            **to_torch(options))
        # PyTorch fills every accumulator with the constructor's initial_accumulator_value and
        # ignores a group's; denn honours the group's, so the reference does too.
        with torch.no_grad():
            for g in opt.param_groups:
                for p in g["params"]:
                    opt.state[p]["sum"].fill_(g["initial_accumulator_value"])
    traj = []
    for _ in range(10):
        opt.zero_grad()
        loss = ((w @ v - T) ** 2).sum() + (Cc * w * w).sum()
        loss.backward()
        opt.step()
        traj.append({"params": [enc(w), enc(v)],
                     "sums": [enc(opt.state[w]["sum"]), enc(opt.state[v]["sum"])]})
    sd = opt.state_dict()
    return {
        "name": name,
        "options": options,
        "groups": groups,
        "trajectory": traj,
        "stateKeys": sorted(camel(k) for k in sd["state"][0].keys()),
        "groupKeys": sorted(camel(k) for k in sd["param_groups"][0].keys()),
    }


adagrad_cases = [
    adagrad("default", {}),
    adagrad("lr lrDecay", {"lr": 0.1, "lrDecay": 0.05}),
    adagrad("weightDecay initialAccumulatorValue eps", {
        "lr": 0.05, "weightDecay": 0.1, "initialAccumulatorValue": 0.3, "eps": 1e-3}),
    adagrad("maximize weightDecay lrDecay", {
        "lr": 0.02, "maximize": True, "weightDecay": 0.05, "lrDecay": 0.1}),
    adagrad("groups", {"lr": 0.05}, [
        {"params": [0], "initialAccumulatorValue": 0.5},
        {"params": [1], "lr": 0.2, "lrDecay": 0.01, "eps": 1e-6}]),
]

# ---- Schedulers -------------------------------------------------------------------------------

S = torch.optim.lr_scheduler
LAMBDAS = {
    "pow95": lambda e: 0.95 ** e,
    "invSqrt": lambda e: 1 / math.sqrt(e + 1),
    "step10": lambda e: 0.5 ** (e // 10),
}
STEPS = 30
# A validation loss that improves, stalls, improves a little (below and above the threshold),
# then stalls for good; "max" cases use 2 - metric (an accuracy-like metric, positive).
METRICS = [1.0, 0.9, 0.8, 0.8, 0.8, 0.79995, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.69, 0.69,
           0.69, 0.69, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def momentum_of(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["betas"][0] if "betas" in g else g.get("momentum"))
    return out


def sched(name, spec, make, optimizer="SGD", metrics=None):
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.02}]
    if optimizer == "SGD":
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam(groups, lr=0.1, betas=(0.9, 0.999))
    s = make(opt)
    lrs = [[g["lr"] for g in opt.param_groups]]
    moms = [momentum_of(opt)]
    for k in range(STEPS):
        opt.step()
        if metrics is None:
            s.step()
        else:
            s.step(metrics[k])
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momentum_of(opt))
    out = {"name": name, "spec": spec, "optimizer": optimizer,
           "lrs": [[float("%.12g" % x) for x in r] for r in lrs]}
    if spec["type"] == "OneCycleLR":
        out["momentums"] = [[float("%.12g" % x) for x in r] for r in moms]
    if metrics is not None:
        out["metrics"] = metrics
    return out


def lambda_lr(names):
    fns = [LAMBDAS[n] for n in names]
    return lambda o: S.LambdaLR(o, fns if len(fns) > 1 else fns[0])


schedulers = [
    sched("ExponentialLR", {"type": "ExponentialLR", "gamma": 0.9},
          lambda o: S.ExponentialLR(o, gamma=0.9)),
    sched("ExponentialLR gamma 1.05", {"type": "ExponentialLR", "gamma": 1.05},
          lambda o: S.ExponentialLR(o, gamma=1.05)),
    sched("LambdaLR one function", {"type": "LambdaLR", "lambdas": ["pow95"]},
          lambda_lr(["pow95"])),
    sched("LambdaLR per group", {"type": "LambdaLR", "lambdas": ["invSqrt", "step10"]},
          lambda_lr(["invSqrt", "step10"])),
    sched("OneCycleLR cos", {"type": "OneCycleLR", "maxLr": 1.0, "totalSteps": 30},
          lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30)),
    sched("OneCycleLR linear per-group maxLr epochs",
          {"type": "OneCycleLR", "maxLr": [0.5, 0.05], "epochs": 5, "stepsPerEpoch": 6,
           "annealStrategy": "linear", "pctStart": 0.25, "divFactor": 10, "finalDivFactor": 100},
          lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.05], epochs=5, steps_per_epoch=6,
                                 anneal_strategy="linear", pct_start=0.25, div_factor=10.,
                                 final_div_factor=100.)),
    sched("OneCycleLR threePhase momentum range",
          {"type": "OneCycleLR", "maxLr": 0.8, "totalSteps": 30, "threePhase": True,
           "pctStart": 0.4, "baseMomentum": 0.8, "maxMomentum": 0.9},
          lambda o: S.OneCycleLR(o, max_lr=0.8, total_steps=30, three_phase=True, pct_start=0.4,
                                 base_momentum=0.8, max_momentum=0.9)),
    sched("OneCycleLR no cycleMomentum",
          {"type": "OneCycleLR", "maxLr": 0.3, "totalSteps": 32, "cycleMomentum": False},
          lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=32, cycle_momentum=False)),
    sched("OneCycleLR Adam betas",
          {"type": "OneCycleLR", "maxLr": 0.01, "totalSteps": 30, "baseMomentum": [0.85, 0.8],
           "maxMomentum": [0.95, 0.9]},
          lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=30, base_momentum=[0.85, 0.8],
                                 max_momentum=[0.95, 0.9]),
          optimizer="Adam"),
    sched("ReduceLROnPlateau default", {"type": "ReduceLROnPlateau", "patience": 2},
          lambda o: S.ReduceLROnPlateau(o, patience=2), metrics=METRICS),
    sched("ReduceLROnPlateau abs cooldown minLr",
          {"type": "ReduceLROnPlateau", "patience": 1, "factor": 0.5, "thresholdMode": "abs",
           "threshold": 0.005, "cooldown": 2, "minLr": [0.01, 0.004]},
          lambda o: S.ReduceLROnPlateau(o, patience=1, factor=0.5, threshold_mode="abs",
                                        threshold=0.005, cooldown=2, min_lr=[0.01, 0.004]),
          metrics=METRICS),
    sched("ReduceLROnPlateau max rel eps",
          {"type": "ReduceLROnPlateau", "mode": "max", "patience": 0, "factor": 0.3,
           "threshold": 0.01, "minLr": 0.001, "eps": 0.002},
          lambda o: S.ReduceLROnPlateau(o, mode="max", patience=0, factor=0.3, threshold=0.01,
                                        min_lr=0.001, eps=0.002),
          metrics=[round(2 - m, 6) for m in METRICS]),
]

# ---- Gradient clipping ------------------------------------------------------------------------

SHAPES = [[3, 4], [5], [2, 2, 2]]
GRADS = [q(torch.randn(*s, generator=gen, dtype=torch.float64)) for s in SHAPES]


def clip_case(name, fn, args, grads=GRADS, has_grad=(True, False, True)):
    params = [torch.zeros(*s, requires_grad=True) for s in SHAPES]
    for p, g, h in zip(params, grads, has_grad):
        if h:
            p.grad = g.clone()
    result = fn(params, **args)
    return {
        "name": name,
        "fn": fn.__name__,
        "args": {camel(k): (v if not isinstance(v, float) or math.isfinite(v) else "Infinity")
                 for k, v in args.items()},
        "grads": [enc(g) if h else None for g, h in zip(grads, has_grad)],
        "norm": None if result is None else enc(result)[0],
        "after": [enc(p.grad) if p.grad is not None else None for p in params],
    }


norm_ = nn.utils.clip_grad_norm_
value_ = nn.utils.clip_grad_value_
nan_grads = [GRADS[0].clone(), GRADS[1], GRADS[2]]
nan_grads[0][1, 2] = float("nan")
inf_grads = [GRADS[0], GRADS[1], GRADS[2].clone()]
inf_grads[2][0, 1, 1] = float("inf")

clip = [
    clip_case("norm 2 clips", norm_, {"max_norm": 1.0}),
    clip_case("norm 2 does not clip", norm_, {"max_norm": 100.0}),
    clip_case("norm 1", norm_, {"max_norm": 2.0, "norm_type": 1.0}),
    clip_case("norm 3", norm_, {"max_norm": 0.5, "norm_type": 3.0}),
    clip_case("norm 0.5", norm_, {"max_norm": 10.0, "norm_type": 0.5}),
    clip_case("norm inf", norm_, {"max_norm": 0.75, "norm_type": float("inf")}),
    clip_case("norm 2 maxNorm 0", norm_, {"max_norm": 0.0}),
    clip_case("norm 2 all grads", norm_, {"max_norm": 1.5}, has_grad=(True, True, True)),
    clip_case("nan gradient", norm_, {"max_norm": 1.0}, grads=nan_grads),
    clip_case("inf gradient", norm_, {"max_norm": 1.0}, grads=inf_grads),
    clip_case("inf gradient inf norm", norm_, {"max_norm": 1.0, "norm_type": float("inf")},
              grads=inf_grads),
    clip_case("value 0.5", value_, {"clip_value": 0.5}),
    clip_case("value 0", value_, {"clip_value": 0.0}),
    clip_case("value nan gradient", value_, {"clip_value": 0.3}, grads=nan_grads),
]

# ---- safetensors with int64 buffers -----------------------------------------------------------

DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}


def safetensors_bytes(tensors, metadata=None):
    """The safetensors format by hand: u64 LE header size, JSON header, little-endian data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        a = t.numpy()
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


torch.manual_seed(97531)
model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3))
model.train()
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(4, 2, 5, 5) * 2 + 0.5)
model.eval()
bn_sd = model.state_dict()
assert bn_sd["1.num_batches_tracked"].dtype == torch.int64
x = q(torch.randn(2, 2, 5, 5, generator=gen, dtype=torch.float64))
with torch.no_grad():
    y = model(x)
index_sd = {
    "extremes": torch.tensor([0, -1, 2147483647, -2147483648, 7], dtype=torch.int64),
    "perm": torch.randperm(6, generator=gen),
    "scalar": torch.tensor(12345678, dtype=torch.int64),
}


def described(sd):
    return {k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                "values": [int(v) for v in t.flatten().tolist()] if not t.is_floating_point()
                else enc(t)} for k, t in sd.items()}


safetensors = {
    "batchnorm": {
        "bytes": base64.b64encode(safetensors_bytes(bn_sd, {"format": "pt"})).decode(),
        "tensors": described(bn_sd),
        "input": {"shape": list(x.shape), "values": enc(x)},
        "output": {"shape": list(y.shape), "values": enc(y)},
    },
    "indices": {
        "bytes": base64.b64encode(safetensors_bytes(index_sd)).decode(),
        "tensors": described(index_sd),
    },
}

with open(OUT, "w") as f:
    json.dump({
        "torch": torch.__version__,
        "problem": {"w": enc(W0), "v": enc(V0), "t": enc(T), "c": enc(Cc)},
        "adagrad": adagrad_cases,
        "schedulers": schedulers,
        "clip": {"shapes": SHAPES, "cases": clip},
        "safetensors": safetensors,
    }, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(adagrad_cases)} Adagrad, {len(schedulers)} scheduler, {len(clip)} clipping "
      f"and 2 safetensors cases to {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
