#!/usr/bin/env python3
"""Writes tests/fixtures/sort.json: PyTorch golden values for max/min along a dim (values and
indices), sort, argsort, topk, cumsum, cumprod, prod and einsum, read by tests/core/sort_test.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_sort_fixtures.py

Every case records its op (a key of the OPS table in sort_test.ts), its arguments, the inputs, every
output (values and indices where the op has them), a fixed random upstream gradient `gy` for the
first output and the gradient of sum(out0 * gy) with respect to every float input. Float inputs
are rounded to 3 decimals and cast to float32, so they are exactly what the TypeScript test builds;
the reference is computed in float64 from those values and written with 7 significant digits.
Non-finite values are written as the strings "NaN", "Infinity" and "-Infinity". Sorts run with
stable=True, whose tie order PyTorch defines; topk leaves the order of equal elements unspecified,
so its tie case is marked `tiesUnordered` and the test checks its indices by the values they pick.
"""

import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "sort.json")

gen = torch.Generator().manual_seed(2024)
cases = []


def rnd(*shape, scale=1.0):
    t = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    return (torch.round(t * 1000) / 1000).float().double()


def distinct(*shape):
    """Values far enough apart that every ordering is unambiguous."""
    n = math.prod(shape)
    perm = torch.randperm(n, generator=gen).double()
    return ((perm - n / 2) / 4 + torch.rand(n, generator=gen, dtype=torch.float64) * 0.1).reshape(
        shape).mul(1000).round().div(1000).float().double()


def ints(*shape, lo=0, hi=5):
    return torch.randint(lo, hi, shape, generator=gen).double()


def num(v, digits):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(digits % v)


def dtype_name(t):
    if t.dtype in (torch.float32, torch.float64):
        return "float32"
    if t.dtype == torch.bool:
        return "bool"
    return "int32"


def enc(t, digits="%.7g"):
    t = t.detach()
    if t.dtype == torch.bool:
        return [int(v) for v in t.flatten().tolist()]
    if t.dtype in (torch.float32, torch.float64):
        return [num(v, digits) for v in t.flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


def case(name, op, fn, inputs, args=None, grad=True, extra=None):
    """Runs fn(*inputs) in float64; records every output and the input gradients."""
    leaves = []
    for t in inputs:
        t = t.clone()
        if grad and t.dtype == torch.float64:
            t.requires_grad_()
        leaves.append(t)
    recorded = [{"shape": list(t.shape), "dtype": dtype_name(t), "data": enc(t, "%.3f"),
                 "grad": t.requires_grad} for t in leaves]
    res = fn(*leaves)
    outs = list(res) if isinstance(res, (tuple, list)) else [res]
    rec = {"name": name, "op": op, "args": args or {}, "inputs": recorded,
           "outs": [{"shape": list(o.shape), "dtype": dtype_name(o), "data": enc(o)} for o in outs]}
    rec.update(extra or {})
    if outs[0].requires_grad:
        gy = rnd(*outs[0].shape)
        (outs[0] * gy).sum().backward()
        rec["gy"] = enc(gy, "%.3f")
        rec["grads"] = [enc(t.grad) if t.requires_grad and t.grad is not None else None
                        for t in leaves]
    cases.append(rec)


def i32(fn):
    """Integer outputs (indices, integer values) as int32, the dtype denn returns."""
    def wrapped(*a):
        res = fn(*a)
        outs = list(res) if isinstance(res, (tuple, list)) else [res]
        return [o.to(torch.int32) if o.dtype == torch.int64 else o for o in outs]
    return wrapped


NAN, INF = float("nan"), float("inf")
TIES = torch.tensor([[1., 3., 3., 2.], [5., 5., 5., 0.], [2., 2., 7., 7.]], dtype=torch.float64)
NANS = torch.tensor([[3., NAN, 1., NAN, 2., INF, -INF, 1.], [0., -1., NAN, 4., 4., -INF, 2., 0.]],
                    dtype=torch.float64)

# ------------------------------------------------------------------ max / min along a dim

for op in ["max", "min"]:
    f = getattr(torch, op)
    for dim, keepdim in [(1, False), (0, True), (-1, True)]:
        case(f"{op} ties dim={dim} keepdim={keepdim}", op,
             i32(lambda x, f=f, dim=dim, keepdim=keepdim: f(x, dim, keepdim)), [TIES],
             {"dim": dim, "keepdim": keepdim})
    x = rnd(2, 3, 4)
    for dim in [0, 1, 2]:
        case(f"{op} 3-D dim={dim}", op, i32(lambda x, f=f, dim=dim: f(x, dim)), [x],
             {"dim": dim, "keepdim": False})
    case(f"{op} NaN picks the first NaN", op, i32(lambda x, f=f: f(x, 1)), [NANS],
         {"dim": 1, "keepdim": False})
    case(f"{op} int32", op, i32(lambda x, f=f: f(x, 0)), [ints(3, 4, lo=-3, hi=3).int()],
         {"dim": 0, "keepdim": False})
    case(f"{op} 0-d", op, i32(lambda x, f=f: f(x, 0)), [torch.tensor(1.5, dtype=torch.float64)],
         {"dim": 0, "keepdim": False})

# ------------------------------------------------------------------ sort / argsort

for desc in [False, True]:
    tag = " descending" if desc else ""
    case(f"sort ties{tag}", "sort",
         i32(lambda x, d=desc: torch.sort(x, dim=1, descending=d, stable=True)), [TIES],
         {"dim": 1, "descending": desc})
    case(f"sort NaN and infinities{tag}", "sort",
         i32(lambda x, d=desc: torch.sort(x, dim=-1, descending=d, stable=True)), [NANS],
         {"dim": -1, "descending": desc})
    x = ints(3, 5, 4)
    for dim in [0, 1, 2]:
        case(f"sort many ties 3-D dim={dim}{tag}", "sort",
             i32(lambda x, dim=dim, d=desc: torch.sort(x, dim=dim, descending=d, stable=True)),
             [x], {"dim": dim, "descending": desc})
    case(f"sort random 1-D{tag}", "sort",
         i32(lambda x, d=desc: torch.sort(x, descending=d, stable=True)), [rnd(37)],
         {"dim": -1, "descending": desc})
    case(f"sort int32{tag}", "sort",
         i32(lambda x, d=desc: torch.sort(x, dim=1, descending=d, stable=True)),
         [ints(4, 6, lo=-3, hi=3).int()], {"dim": 1, "descending": desc})
    case(f"sort bool{tag}", "sort",
         i32(lambda x, d=desc: torch.sort(x, dim=0, descending=d, stable=True)),
         [torch.tensor([True, False, True, False, False])], {"dim": 0, "descending": desc})
    case(f"argsort ties{tag}", "argsort",
         i32(lambda x, d=desc: torch.argsort(x, dim=0, descending=d, stable=True)), [TIES],
         {"dim": 0, "descending": desc})
case("sort 0-d", "sort", i32(lambda x: torch.sort(x)), [torch.tensor(2.5, dtype=torch.float64)],
     {"dim": -1, "descending": False})
case("sort long row", "sort", i32(lambda x: torch.sort(x, stable=True)), [ints(2, 1500, hi=100)],
     {"dim": -1, "descending": False})

# ------------------------------------------------------------------ topk

x = distinct(3, 8)
for k, dim, largest in [(3, -1, True), (3, 1, False), (2, 0, True), (8, 1, True), (0, 1, True)]:
    case(f"topk k={k} dim={dim} largest={largest}", "topk",
         i32(lambda x, k=k, dim=dim, largest=largest: torch.topk(x, k, dim, largest)), [x],
         {"k": k, "dim": dim, "largest": largest})
x3 = distinct(2, 5, 3)
case("topk 3-D middle dim", "topk", i32(lambda x: torch.topk(x, 2, 1)), [x3],
     {"k": 2, "dim": 1, "largest": True})
case("topk NaN counts as largest", "topk", i32(lambda x: torch.topk(x, 3, 1)), [NANS],
     {"k": 3, "dim": 1, "largest": True})
case("topk ties", "topk", i32(lambda x: torch.topk(x, 3, 1)), [ints(4, 9)],
     {"k": 3, "dim": 1, "largest": True}, extra={"tiesUnordered": True})

# ------------------------------------------------------------------ cumsum / cumprod / prod

x = rnd(3, 4, 5)
for dim in [0, 1, 2, -1]:
    case(f"cumsum 3-D dim={dim}", "cumsum", lambda x, dim=dim: torch.cumsum(x, dim), [x],
         {"dim": dim})
    case(f"cumprod 3-D dim={dim}", "cumprod", lambda x, dim=dim: torch.cumprod(x, dim), [x],
         {"dim": dim})
case("cumsum int32", "cumsum", i32(lambda x: torch.cumsum(x, 1)),
     [ints(3, 6, lo=-5, hi=5).int()], {"dim": 1})
case("cumsum bool", "cumsum", i32(lambda x: torch.cumsum(x, 0)),
     [torch.tensor([True, False, True, True])], {"dim": 0})
case("cumsum 0-d", "cumsum", lambda x: torch.cumsum(x, 0), [torch.tensor(2.5, dtype=torch.float64)],
     {"dim": 0})
ZEROS = torch.tensor([[2., 0., 3., 0., 4.],   # two zeros
                      [0., 1.5, -2., 3., 0.5],  # a zero first
                      [1.5, 2., -1., 0.5, 0.],  # a zero last
                      [1.5, -2., 0.5, 3., 2.],  # none
                      [0., 0., 0., 2., 1.]],     # leading zeros
                     dtype=torch.float64)
case("cumprod with zeros dim=1", "cumprod", lambda x: torch.cumprod(x, 1), [ZEROS], {"dim": 1})
case("cumprod with zeros dim=0", "cumprod", lambda x: torch.cumprod(x, 0), [ZEROS], {"dim": 0})
case("cumprod int32", "cumprod", i32(lambda x: torch.cumprod(x, 1)),
     [ints(3, 5, lo=-3, hi=4).int()], {"dim": 1})
for dim, keepdim in [(1, False), (0, True), (-1, True)]:
    case(f"prod with zeros dim={dim} keepdim={keepdim}", "prod",
         lambda x, dim=dim, keepdim=keepdim: torch.prod(x, dim, keepdim), [ZEROS],
         {"dim": dim, "keepdim": keepdim})
case("prod of all", "prod", lambda x: torch.prod(x), [rnd(2, 3, scale=1.5)], {})
case("prod of all with one zero", "prod", lambda x: torch.prod(x),
     [torch.tensor([[1.5, 0.], [2., -3.]], dtype=torch.float64)], {})
case("prod of all with two zeros", "prod", lambda x: torch.prod(x),
     [torch.tensor([[1.5, 0.], [0., -3.]], dtype=torch.float64)], {})
case("prod 3-D dim=1", "prod", lambda x: torch.prod(x, 1), [rnd(2, 4, 3, scale=1.5)],
     {"dim": 1, "keepdim": False})
case("prod int32", "prod", i32(lambda x: torch.prod(x, 1)), [ints(3, 4, lo=-3, hi=4).int()],
     {"dim": 1, "keepdim": False})
case("prod empty dim is 1", "prod", lambda x: torch.prod(x, 1),
     [torch.zeros(2, 0, dtype=torch.float64)], {"dim": 1, "keepdim": False})

# ------------------------------------------------------------------ einsum

EINSUM = [
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(7,)]*2),
    ("ij->ji", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ba", [(3, 2)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ji,jk->ik", [(4, 3), (4, 5)]),
    ("ijk,ikl,ilm->ijm", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij->...", [(2, 3, 4)]),
    ("i...j", [(2, 3, 4)]),
    ("b i j, b j k -> b i k", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(1,), (4,)]),
    ("bij,bjk->bik", [(1, 3, 4), (2, 4, 5)]),
    ("ij,ij->ij", [(1, 4), (3, 1)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("Ab,bA->A", [(3, 4), (4, 3)]),
]
for eq, shapes in EINSUM:
    ops = [rnd(*s) for s in shapes]
    case(f'einsum "{eq}" {shapes}', "einsum",
         lambda *a, eq=eq: torch.einsum(eq, *a), ops, {"equation": eq})
case('einsum "ij,jk->ik" int32', "einsum", lambda a, b: torch.einsum("ij,jk->ik", a, b),
     [ints(3, 4, lo=-3, hi=3).int(), ints(4, 2, lo=-3, hi=3).int()], {"equation": "ij,jk->ik"})
case('einsum "ii" int32', "einsum", lambda a: torch.einsum("ii", a),
     [ints(3, 3, lo=-3, hi=3).int()], {"equation": "ii"})

with open(OUT, "w") as f:
    json.dump({"generator": "tools/gen_sort_fixtures.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}")
