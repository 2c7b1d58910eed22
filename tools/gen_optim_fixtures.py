#!/usr/bin/env python3
"""Writes tests/fixtures/optim.json: PyTorch trajectories of the optimizers in optim/ and the
learning-rate sequences of the schedulers in optim/lr_scheduler.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_optim_fixtures.py

Optimizers: parameters w [3, 4] and v [4] (float32, inputs rounded to 4 decimals so the JSON is
exact), loss = sum((w @ v - t)^2) + sum(c * w^2) with fixed t [3] and c [3, 4]; five steps of
zero_grad / backward / step, recording both parameters after each step (7 significant digits).
The optimizer runs in float32, exactly as the TypeScript one does.

Schedulers: an SGD optimizer with two parameter groups (lr 0.1 and 0.02); the lr of each group
after construction and after each of 20 optimizer.step() / scheduler.step() pairs.

Option names are written in denn's camelCase; `to_torch` maps them to PyTorch's.
"""

import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "optim.json")

gen = torch.Generator().manual_seed(4321)


def q(t):
    return (torch.round(t * 10000) / 10000).float()


W0 = q(torch.randn(3, 4, generator=gen, dtype=torch.float64) * 0.5)
V0 = q(torch.randn(4, generator=gen, dtype=torch.float64) * 0.5)
T = q(torch.randn(3, generator=gen, dtype=torch.float64))
Cc = q(torch.rand(3, 4, generator=gen, dtype=torch.float64))

SNAKE = {"weightDecay": "weight_decay", "nesterov": "nesterov"}


def to_torch(opts):
    out = {}
    for k, v in opts.items():
        if k == "params":
            continue
        out[SNAKE.get(k, k)] = tuple(v) if k == "betas" else v
    return out


def enc(t):
    return [float("%.7g" % x) for x in t.detach().double().flatten().tolist()]


def camel(s):
    head, *rest = s.split("_")
    return head + "".join(r.capitalize() for r in rest)


def run(name, kind, options, groups=None):
    w = W0.clone().requires_grad_(True)
    v = V0.clone().requires_grad_(True)
    params = [w, v]
    if groups is None:
        opt = getattr(torch.optim, kind)(params, **to_torch(options))
    else:
        opt = getattr(torch.optim, kind)(
            [dict(params=[params[i] for i in g["params"]], **to_torch(g)) for g in groups],
            **to_torch(options))
    traj = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((w @ v - T) ** 2).sum() + (Cc * w * w).sum()
        loss.backward()
        opt.step()
        traj.append([enc(w), enc(v)])
    sd = opt.state_dict()
    return {
        "name": name,
        "optimizer": kind,
        "options": options,
        "groups": groups,
        "trajectory": traj,
        "stateKeys": sorted(camel(k) for k in sd["state"][0].keys()),
        "groupKeys": sorted(camel(k) for k in sd["param_groups"][0].keys()),
    }


optimizers = [
    run("sgd plain", "SGD", {"lr": 0.02}),
    run("sgd momentum", "SGD", {"lr": 0.02, "momentum": 0.9}),
    run("sgd momentum dampening", "SGD", {"lr": 0.02, "momentum": 0.9, "dampening": 0.5}),
    run("sgd nesterov weightDecay", "SGD",
        {"lr": 0.02, "momentum": 0.8, "nesterov": True, "weightDecay": 0.1}),
    run("sgd maximize weightDecay momentum", "SGD",
        {"lr": 0.01, "momentum": 0.5, "weightDecay": 0.05, "maximize": True}),
    run("sgd groups", "SGD", {"lr": 0.02},
        [{"params": [0], "momentum": 0.9}, {"params": [1], "lr": 0.05, "weightDecay": 0.1}]),
    run("adam default", "Adam", {"lr": 0.01}),
    run("adam amsgrad", "Adam", {"lr": 0.05, "amsgrad": True}),
    run("adam weightDecay betas eps", "Adam",
        {"lr": 0.02, "betas": [0.8, 0.9], "eps": 1e-6, "weightDecay": 0.1}),
    run("adam amsgrad weightDecay maximize", "Adam",
        {"lr": 0.01, "amsgrad": True, "weightDecay": 0.1, "maximize": True}),
    run("adam groups", "Adam", {"lr": 0.01},
        [{"params": [0], "amsgrad": True}, {"params": [1], "lr": 0.03, "betas": [0.5, 0.7]}]),
    run("adamw default", "AdamW", {"lr": 0.01}),
    run("adamw amsgrad weightDecay", "AdamW", {"lr": 0.05, "amsgrad": True, "weightDecay": 0.2}),
    run("rmsprop default", "RMSprop", {"lr": 0.01}),
    run("rmsprop centered", "RMSprop", {"lr": 0.01, "centered": True}),
    run("rmsprop momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    run("rmsprop centered momentum weightDecay alpha eps", "RMSprop",
        {"lr": 0.005, "centered": True, "momentum": 0.5, "weightDecay": 0.1, "alpha": 0.9,
         "eps": 1e-6}),
    run("rmsprop maximize", "RMSprop", {"lr": 0.01, "maximize": True, "momentum": 0.3}),
]

S = torch.optim.lr_scheduler


def sched(name, make, spec):
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)
    s = make(opt)
    lrs = [s.get_last_lr()]
    for _ in range(20):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr())
    return {"name": name, "spec": spec, "lrs": [[float("%.10g" % x) for x in r] for r in lrs]}


def seq(opt, first, second, milestone):
    return S.SequentialLR(opt, [first(opt), second(opt)], milestones=[milestone])


schedulers = [
    sched("StepLR", lambda o: S.StepLR(o, step_size=3, gamma=0.5),
          {"type": "StepLR", "stepSize": 3, "gamma": 0.5}),
    sched("StepLR default gamma", lambda o: S.StepLR(o, step_size=4),
          {"type": "StepLR", "stepSize": 4}),
    sched("MultiStepLR", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 11], gamma=0.3),
          {"type": "MultiStepLR", "milestones": [2, 5, 5, 11], "gamma": 0.3}),
    sched("CosineAnnealingLR", lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
          {"type": "CosineAnnealingLR", "tMax": 7, "etaMin": 0.001}),
    sched("CosineAnnealingLR etaMin 0", lambda o: S.CosineAnnealingLR(o, T_max=20),
          {"type": "CosineAnnealingLR", "tMax": 20}),
    sched("LinearLR", lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
          {"type": "LinearLR", "startFactor": 0.1, "endFactor": 1.0, "totalIters": 6}),
    sched("LinearLR default", lambda o: S.LinearLR(o), {"type": "LinearLR"}),
    sched("LinearLR decay", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                                 total_iters=10),
          {"type": "LinearLR", "startFactor": 1.0, "endFactor": 0.2, "totalIters": 10}),
    sched("warmup then cosine",
          lambda o: seq(o, lambda p: S.LinearLR(p, start_factor=0.25, total_iters=4),
                        lambda p: S.CosineAnnealingLR(p, T_max=12, eta_min=0.0), 4),
          {"type": "SequentialLR", "milestones": [4],
           "schedulers": [{"type": "LinearLR", "startFactor": 0.25, "totalIters": 4},
                          {"type": "CosineAnnealingLR", "tMax": 12}]}),
    sched("linear then step",
          lambda o: seq(o, lambda p: S.LinearLR(p, start_factor=0.5, total_iters=3),
                        lambda p: S.StepLR(p, step_size=4, gamma=0.5), 5),
          {"type": "SequentialLR", "milestones": [5],
           "schedulers": [{"type": "LinearLR", "startFactor": 0.5, "totalIters": 3},
                          {"type": "StepLR", "stepSize": 4, "gamma": 0.5}]}),
]

with open(OUT, "w") as f:
    json.dump({
        "torch": torch.__version__,
        "problem": {"w": enc(W0), "v": enc(V0), "t": enc(T), "c": enc(Cc)},
        "optimizers": optimizers,
        "schedulers": schedulers,
    }, f, separators=(",", ":"))
print(f"wrote {len(optimizers)} optimizer and {len(schedulers)} scheduler cases to "
      f"{os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
