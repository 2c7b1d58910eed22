#!/usr/bin/env python3
"""Writes tests/fixtures/tensor_api.json: PyTorch golden values for the Tensor API of issue 12
(split, chunk, unbind, indexSelect, maskedFill, repeat, flip, roll, tril/triu, any/all, isnan,
isinf, isfinite, nanToNum, norm, var/std argument forms, arange forms, at and index), read by
tests/core/tensor_api_test.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_tensor_api_fixtures.py

Every case records its op (a key of the OPS table in tensor_api_test.ts), attributes, inputs and
outputs (a list: split, chunk and unbind return several tensors). Where an output requires grad,
the file also holds a fixed random upstream gradient per output (`gys`) and the gradient of
sum_k sum(out_k * gy_k) with respect to every float input. Float inputs are rounded to 3 decimals
and are float32-exact; the reference is computed in float64 from them and written with 7
significant digits. NaN and infinities are written as the strings "nan", "inf" and "-inf" (JSON
has no literal for them).
"""

import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "tensor_api.json")

gen = torch.Generator().manual_seed(4321)
cases = []

NAN, INF = float("nan"), float("inf")


def rnd(*shape, scale=1.0):
    t = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    t = torch.round(t * 1000) / 1000
    return t.float().double()


def ints(*shape, lo=-5, hi=5):
    return torch.randint(lo, hi, shape, generator=gen).to(torch.int32)


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


def dtype_name(t):
    if t.dtype in (torch.float32, torch.float64):
        return "float32"
    if t.dtype == torch.float16:
        return "float16"
    if t.dtype == torch.bool:
        return "bool"
    return "int32"


def num(v, digits):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(digits % v)


def enc(t, digits="%.7g"):
    t = t.detach()
    if t.dtype == torch.bool:
        return [int(v) for v in t.flatten().tolist()]
    if t.dtype in (torch.float16, torch.float32, torch.float64):
        return [num(v, digits) for v in t.flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


def case(name, op, fn, inputs, attrs=None):
    """Runs fn(*inputs) in float64; records the outputs and the float inputs' gradients."""
    leaves = []
    for t in inputs:
        t = t.clone()
        if t.dtype == torch.float64:
            t.requires_grad_()
        leaves.append(t)
    recorded = [{"shape": list(t.shape), "dtype": dtype_name(t), "data": enc(t, "%.3f")}
                for t in leaves]
    out = fn(*leaves)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    rec = {
        "name": name,
        "op": op,
        "attrs": attrs or {},
        "inputs": recorded,
        "outs": [{"shape": list(o.shape), "dtype": dtype_name(o), "data": enc(o)} for o in outs],
    }
    if any(o.requires_grad for o in outs):
        gys = [rnd(*o.shape) for o in outs]
        total = sum((o * g).sum() for o, g in zip(outs, gys) if o.requires_grad)
        total.backward()
        rec["gys"] = [enc(g, "%.3f") for g in gys]
        rec["grads"] = [enc(t.grad) if t.requires_grad and t.grad is not None else None
                        for t in leaves]
    cases.append(rec)


# ------------------------------------------------------------------ split, chunk, unbind

case("split size 2 of 5", "split", lambda x: x.split(2), [rnd(5, 3)], {"size": 2, "dim": 0})
case("split size 2 dim 1", "split", lambda x: x.split(2, 1), [rnd(3, 4)], {"size": 2, "dim": 1})
case("split size 9 (one chunk)", "split", lambda x: x.split(9, -1), [rnd(2, 4)],
     {"size": 9, "dim": -1})
case("split sections [1, 3, 0, 1]", "split", lambda x: x.split([1, 3, 0, 1], 1), [rnd(2, 5)],
     {"size": [1, 3, 0, 1], "dim": 1})
case("split int32", "split", lambda x: x.split(1), [ints(3, 2)], {"size": 1, "dim": 0})
case("chunk 3 of 5", "chunk", lambda x: x.chunk(3), [rnd(5, 2)], {"chunks": 3, "dim": 0})
case("chunk 4 of 6 gives 3", "chunk", lambda x: x.chunk(4, 1), [rnd(2, 6)],
     {"chunks": 4, "dim": 1})
case("chunk 2 of 1", "chunk", lambda x: x.chunk(2, -1), [rnd(3, 1)], {"chunks": 2, "dim": -1})
case("unbind dim 0", "unbind", lambda x: x.unbind(0), [rnd(3, 2)], {"dim": 0})
case("unbind dim -1", "unbind", lambda x: x.unbind(-1), [rnd(2, 3, 2)], {"dim": -1})

# ------------------------------------------------------------------ indexSelect, maskedFill


def idx(values):
    return torch.tensor(values, dtype=torch.int32)


for name, dim, index, shape in [
    ("dim 0", 0, [2, 0], (3, 4)),
    ("dim 1 repeated", 1, [3, 1, 3, 3], (2, 4)),
    ("dim -1 of 3-D", -1, [1], (2, 3, 2)),
    ("0-d index", 1, 2, (2, 3)),
    ("empty index", 0, [], (3, 2)),
]:
    case(f"indexSelect {name}", "indexSelect",
         lambda x, i, dim=dim: x.index_select(dim, i.long()), [rnd(*shape), idx(index)],
         {"dim": dim})
case("indexSelect int32", "indexSelect", lambda x, i: x.index_select(0, i.long()),
     [ints(3, 2), idx([1, 1, 0])], {"dim": 0})

mask = rnd(3, 4) > 0
case("maskedFill number", "maskedFill", lambda x, m: x.masked_fill(m, -2.5), [rnd(3, 4), mask],
     {"value": -2.5})
case("maskedFill broadcast mask", "maskedFill", lambda x, m: x.masked_fill(m, 7),
     [rnd(3, 4), rnd(4) > 0], {"value": 7})
case("maskedFill broadcasts self", "maskedFill", lambda x, m: x.masked_fill(m, 1),
     [rnd(4), rnd(2, 4) > 0], {"value": 1})
case("maskedFill 0-d tensor value", "maskedFillTensor", lambda x, m, v: x.masked_fill(m, v),
     [rnd(2, 3), rnd(2, 3) > 0, f64(0.5)])
case("maskedFill int32 truncates", "maskedFill", lambda x, m: x.masked_fill(m, 2.5),
     [ints(2, 3), rnd(2, 3) > 0], {"value": 2.5})
case("maskedFill bool", "maskedFill", lambda x, m: x.masked_fill(m, 0),
     [rnd(2, 3) > 0, rnd(2, 3) > 0], {"value": 0})

# ------------------------------------------------------------------ repeat, flip, roll

case("repeat [2, 1]", "repeat", lambda x: x.repeat(2, 1), [rnd(2, 3)], {"sizes": [2, 1]})
case("repeat [2, 1, 3] adds a dim", "repeat", lambda x: x.repeat(2, 1, 3), [rnd(2, 2)],
     {"sizes": [2, 1, 3]})
case("repeat of [1]", "repeat", lambda x: x.repeat(4), [rnd(1)], {"sizes": [4]})
case("repeat [1, 1] copies", "repeat", lambda x: x.repeat(1, 1), [rnd(2, 2)], {"sizes": [1, 1]})
case("repeat [0, 2]", "repeat", lambda x: x.repeat(0, 2), [rnd(2, 3)], {"sizes": [0, 2]})
case("repeat int32", "repeat", lambda x: x.repeat(2, 2), [ints(2, 2)], {"sizes": [2, 2]})
case("flip [0]", "flip", lambda x: x.flip([0]), [rnd(3, 2)], {"dims": [0]})
case("flip [0, 1]", "flip", lambda x: x.flip([0, 1]), [rnd(3, 4)], {"dims": [0, 1]})
case("flip [-1] 3-D", "flip", lambda x: x.flip([-1]), [rnd(2, 2, 3)], {"dims": [-1]})
case("flip []", "flip", lambda x: x.flip([]), [rnd(2, 2)], {"dims": []})
case("flip int32", "flip", lambda x: x.flip([1]), [ints(2, 3)], {"dims": [1]})
case("roll flat", "roll", lambda x: x.roll(1), [rnd(2, 3)], {"shifts": 1, "dims": None})
case("roll [1, -1] [0, 1]", "roll", lambda x: x.roll((1, -1), (0, 1)), [rnd(2, 3)],
     {"shifts": [1, -1], "dims": [0, 1]})
case("roll 7 of 3", "roll", lambda x: x.roll(7, 1), [rnd(2, 3)], {"shifts": 7, "dims": 1})
case("roll -4 dim 0", "roll", lambda x: x.roll(-4, 0), [rnd(3, 2)], {"shifts": -4, "dims": 0})
case("roll 0", "roll", lambda x: x.roll(0, 0), [rnd(3)], {"shifts": 0, "dims": 0})

# ------------------------------------------------------------------ tril, triu

for d in (0, 1, -1, 5, -5):
    case(f"tril diagonal {d}", "tril", lambda x, d=d: x.tril(d), [rnd(3, 4)], {"diagonal": d})
    case(f"triu diagonal {d}", "triu", lambda x, d=d: x.triu(d), [rnd(4, 3)], {"diagonal": d})
case("tril batched", "tril", lambda x: x.tril(), [rnd(2, 3, 3)], {"diagonal": 0})
case("triu batched", "triu", lambda x: x.triu(1), [rnd(2, 2, 3)], {"diagonal": 1})
case("tril int32", "tril", lambda x: x.tril(), [ints(3, 3)], {"diagonal": 0})
case("triu bool", "triu", lambda x: x.triu(), [rnd(3, 3) > -1], {"diagonal": 0})

# ------------------------------------------------------------------ any, all, isnan, isinf

special = f64([[0.0, 1.5, NAN], [INF, -INF, 0.0], [0.0, 0.0, 0.0]])
for op in ("any", "all"):
    f = getattr(torch.Tensor, op)
    case(f"{op} all", op, lambda x, f=f: f(x), [special.clone()], {})
    case(f"{op} dim 1", op, lambda x, f=f: f(x, 1), [special.clone()], {"dim": 1})
    case(f"{op} dim 0 keepdim", op, lambda x, f=f: f(x, 0, True), [special.clone()],
         {"dim": 0, "keepdim": True})
    case(f"{op} int32", op, lambda x, f=f: f(x, 1), [ints(3, 2, lo=0, hi=2)], {"dim": 1})
    case(f"{op} bool", op, lambda x, f=f: f(x, -1), [rnd(2, 3) > 0], {"dim": -1})
    case(f"{op} empty", op, lambda x, f=f: f(x), [torch.zeros(0, dtype=torch.float64)], {})
for op in ("isnan", "isinf", "isfinite"):
    f = getattr(torch, op)
    case(f"{op} float", op, lambda x, f=f: f(x), [special.clone()], {})
    case(f"{op} int32", op, lambda x, f=f: f(x), [ints(2, 2)], {})
case("nanToNum defaults", "nanToNum", lambda x: x.float().nan_to_num().double(),
     [special.clone()], {})
case("nanToNum given", "nanToNum", lambda x: x.nan_to_num(nan=-1.0, posinf=9.0, neginf=-9.0),
     [special.clone()], {"nan": -1.0, "posinf": 9.0, "neginf": -9.0})
case("nanToNum only posinf", "nanToNum", lambda x: x.float().nan_to_num(posinf=2.0).double(),
     [special.clone()], {"posinf": 2.0})
case("nanToNum finite (gradient)", "nanToNum", lambda x: x.nan_to_num(), [rnd(2, 3)], {})
case("nanToNum int32", "nanToNum", lambda x: x.nan_to_num(), [ints(2, 2)], {})

# ------------------------------------------------------------------ norm

zero_row = f64([[1.0, -3.0, 3.0], [0.0, 0.0, 0.0], [0.5, -0.25, 2.0]])
for p in (1, 2, INF, -INF, 3, 1.5, 0, "fro"):
    pj = p if isinstance(p, str) or not math.isinf(p) else ("inf" if p > 0 else "-inf")
    case(f"norm p={pj}", "norm", lambda x, p=p: x.norm(p), [rnd(3, 4)], {"p": pj})
    case(f"norm p={pj} dim 1 (zero row)", "norm", lambda x, p=p: x.norm(p, 1),
         [zero_row.clone()], {"p": pj, "dim": 1})
    case(f"norm p={pj} dim [0] keepdim", "norm", lambda x, p=p: x.norm(p, [0], True),
         [rnd(2, 3)], {"p": pj, "dim": [0], "keepdim": True})
case("norm default", "norm", lambda x: x.norm(), [rnd(2, 3)], {})
case("norm p=2 dims [0, 2]", "norm", lambda x: x.norm(2, [0, 2]), [rnd(2, 3, 2)],
     {"p": 2, "dim": [0, 2]})
case("norm fro dims [1, 2]", "norm", lambda x: x.norm("fro", [1, 2]), [rnd(2, 3, 2)],
     {"p": "fro", "dim": [1, 2]})
case("norm inf ties", "norm", lambda x: x.norm(INF, 1), [zero_row.clone()],
     {"p": "inf", "dim": 1})

# ------------------------------------------------------------------ var and std forms

for op in ("var", "std"):
    f = getattr(torch.Tensor, op)
    case(f"{op}(1, True, True)", op, lambda x, f=f: f(x, 1, True, True), [rnd(3, 4)],
         {"args": [1, True, True]})
    case(f"{op}(1, False)", op, lambda x, f=f: f(x, 1, False), [rnd(3, 4)], {"args": [1, False]})
    case(f"{op}(False)", op, lambda x, f=f: f(x, False), [rnd(3, 4)], {"args": [False]})
    case(f"{op}([0, 1], unbiased=False, keepdim=True)", op,
         lambda x, f=f: f(x, [0, 1], unbiased=False, keepdim=True), [rnd(2, 3)],
         {"args": [[0, 1], {"unbiased": False, "keepdim": True}]})
    case(f"{op}(0, correction=2)", op, lambda x, f=f: f(x, 0, correction=2), [rnd(5, 2)],
         {"args": [0, {"correction": 2}]})
    case(f"{op}(1, keepdim=True)", op, lambda x, f=f: f(x, 1, keepdim=True), [rnd(2, 3)],
         {"args": [1, {"keepdim": True}]})

# ------------------------------------------------------------------ arange forms

for args, kw in [
    ([5], {}),
    ([2, 7], {}),
    ([1, 10, 3], {}),
    ([5, 0, -2], {}),
    ([0, 1, 0.25], {}),
    ([0.5, 3], {}),
    ([4], {"dtype": "float32"}),
    ([1, 4], {"dtype": "float32"}),
    ([0.5, 3], {"dtype": "float16"}),
]:
    dt = {"float32": torch.float32, "float16": torch.float16}.get(kw.get("dtype"))
    case(f"arange {args} {kw}", "arange",
         lambda args=args, dt=dt: torch.arange(*args, **({"dtype": dt} if dt else {})), [],
         {"args": args, "options": kw})

# ------------------------------------------------------------------ at and index


def spec_py(s):
    if s == "...":
        return Ellipsis
    if isinstance(s, dict):
        return slice(s.get("start"), s.get("end"), s.get("step"))
    return s


for specs in [
    [1],
    [-1, 2],
    [{"start": 1}],
    [{"start": -3, "end": None, "step": 2}],
    [None],
    ["...", 1],
    [0, None, "...", {"end": 2}],
    [{"start": 1, "end": 3}, None, -1],
    ["...", None],
    [{"start": 10}],
    [{"start": 2, "end": 1}],
    [None, 1, None, {"step": 3}, None],
    ["...", 0, 1, 2],
    [],
]:
    case(f"index {json.dumps(specs)}", "index",
         lambda x, specs=specs: x[tuple(spec_py(s) for s in specs)], [rnd(3, 4, 5)],
         {"specs": specs})
for i in (0, 2, -1, -3):
    case(f"at {i}", "at", lambda x, i=i: x[i], [rnd(3, 2)], {"index": i})

with open(OUT, "w") as f:
    json.dump({"generator": "tools/gen_tensor_api_fixtures.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT}")
