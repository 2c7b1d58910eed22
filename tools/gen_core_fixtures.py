#!/usr/bin/env python3
"""Writes tests/fixtures/core.json: PyTorch golden values for the core ops, read by
tests/core/golden_test.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_core_fixtures.py

Every case records its op (a key of the OPS table in golden_test.ts), attributes, inputs, the
output, a fixed random upstream gradient `gy` and the gradient of sum(out * gy) with respect to
every float input. Float inputs are rounded to 3 decimals and cast to float32, so they are exactly
what the TypeScript test builds with Float32Array.from(); the reference is then computed in float64
from those float32 values (the exact answer the float32 kernels approximate) and written with 7
significant digits. Integer and bool inputs keep their dtype.
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "core.json")

gen = torch.Generator().manual_seed(1234)
cases = []


def rnd(*shape, lo=None, hi=None, scale=1.0, away=0.0):
    """float32-representable float64 values; `away` keeps them at least that far from 0."""
    if lo is not None:
        t = torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo
    else:
        t = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    if away:
        t = torch.where(t.abs() < away, torch.sign(t + 1e-12) * away + t, t)
    t = torch.round(t * 1000) / 1000
    return t.float().double()


def ints(*shape, lo=0, hi=5, dtype=torch.int32):
    return torch.randint(lo, hi, shape, generator=gen).to(dtype)


def dtype_name(t):
    if t.dtype in (torch.float32, torch.float64):
        return "float32"
    if t.dtype == torch.bool:
        return "bool"
    return "int32"


def enc_in(t):
    if t.dtype == torch.bool:
        return [int(v) for v in t.flatten().tolist()]
    if t.dtype in (torch.float32, torch.float64):
        return [float("%.3f" % v) for v in t.flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


def enc_out(t):
    t = t.detach()
    if t.dtype == torch.bool:
        return [int(v) for v in t.flatten().tolist()]
    if t.dtype in (torch.float32, torch.float64):
        return [float("%.7g" % v) for v in t.flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


def case(name, op, fn, inputs, attrs=None, nograd=(), extra=None):
    """Runs fn(*inputs) in float64 and records output and input gradients.

    `nograd` lists input indices that do not take part in the gradient check (running stats);
    `extra(inputs)` returns further tensors to record after the call (updated running stats).
    """
    leaves = []
    for i, t in enumerate(inputs):
        t = t.clone()
        if t.dtype == torch.float64 and i not in nograd:
            t.requires_grad_()
        leaves.append(t)
    # Recorded before the call: batch norm updates its running statistics in place.
    recorded = [
        {"shape": list(t.shape), "dtype": dtype_name(t), "data": enc_in(t.detach()),
         "grad": t.requires_grad}
        for t in leaves
    ]
    out = fn(*leaves)
    rec = {
        "name": name,
        "op": op,
        "attrs": attrs or {},
        "inputs": recorded,
        "out": {"shape": list(out.shape), "dtype": dtype_name(out), "data": enc_out(out)},
    }
    if extra:
        rec["extra"] = {k: enc_out(v) for k, v in extra(leaves).items()}
    if out.requires_grad:
        gy = rnd(*out.shape)
        (out * gy).sum().backward()
        rec["gy"] = enc_in(gy)
        rec["grads"] = [enc_out(t.grad) if t.requires_grad and t.grad is not None else None
                        for t in leaves]
    cases.append(rec)


# ------------------------------------------------------------------ elementwise binary

BIN = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum,
}
SHAPES = [((3, 4), (3, 4)), ((3, 1, 5), (4, 5)), ((2, 3), ()), ((1,), (7,)), ((2, 1, 3), (2, 4, 1))]
for op, fn in BIN.items():
    for sa, sb in SHAPES:
        b = rnd(*sb, away=0.3) if op == "div" else rnd(*sb)
        case(f"{op} {list(sa)} {list(sb)}", op, fn, [rnd(*sa), b])
for sa, sb in SHAPES:
    case(f"pow {list(sa)} {list(sb)}", "pow", torch.pow,
         [rnd(*sa, lo=0.3, hi=2.5), rnd(*sb, lo=-2, hi=2)])
case("pow tensor^2 scalar", "powScalar", lambda a: a.pow(2), [rnd(3, 4)], {"exponent": 2})
case("pow tensor^0.5 scalar", "powScalar", lambda a: a.pow(0.5), [rnd(5, lo=0.2, hi=3)],
     {"exponent": 0.5})
case("add int32", "add", torch.add, [ints(2, 3, hi=9), ints(3, hi=9)])
case("mul int32 broadcast", "mul", torch.mul, [ints(4, 1, lo=-4, hi=4), ints(3, lo=-4, hi=4)])
case("maximum ties", "maximum", torch.maximum,
     [torch.tensor([1., 2., 3., 4.], dtype=torch.float64),
      torch.tensor([1., 0., 3., 5.], dtype=torch.float64)])
case("where broadcast", "where", torch.where,
     [rnd(3, 1) > 0, rnd(3, 4), rnd(4)])
case("where [2,3,2]", "where", torch.where, [rnd(2, 3, 2) > 0, rnd(2, 3, 2), rnd(2, 1, 1)])

# ------------------------------------------------------------------ elementwise unary

UN = {
    "neg": (torch.neg, {}), "exp": (torch.exp, {}), "log": (torch.log, {"lo": 0.05, "hi": 4}),
    "log1p": (torch.log1p, {"lo": -0.9, "hi": 4}), "sqrt": (torch.sqrt, {"lo": 0.05, "hi": 4}),
    "rsqrt": (torch.rsqrt, {"lo": 0.1, "hi": 4}), "abs": (torch.abs, {"away": 0.01}),
    "sign": (torch.sign, {"away": 0.01}), "relu": (torch.relu, {"away": 0.01}),
    "sigmoid": (torch.sigmoid, {"scale": 3}), "tanh": (torch.tanh, {"scale": 2}),
    "erf": (torch.erf, {"scale": 1.5}), "sin": (torch.sin, {"scale": 3}),
    "cos": (torch.cos, {"scale": 3}), "reciprocal": (torch.reciprocal, {"away": 0.2}),
    "floor": (torch.floor, {"scale": 3}), "ceil": (torch.ceil, {"scale": 3}),
    "round": (torch.round, {"scale": 3}),
}
for op, (fn, kw) in UN.items():
    case(f"{op} [2,3,4]", op, fn, [rnd(2, 3, 4, **kw)])
case("round half to even", "round", torch.round,
     [torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 3.51], dtype=torch.float64)])
case("erf tails", "erf", torch.erf,
     [torch.tensor([-6.5, -3.0, -0.49, -0.01, 0.0, 0.51, 2.2, 7.0], dtype=torch.float64)])
case("logicalNot", "logicalNot", torch.logical_not,
     [torch.tensor([0.0, 1.5, -2.0, 0.0], dtype=torch.float64)])
case("neg int32", "neg", torch.neg, [ints(5, lo=-5, hi=5)])
case("abs int32", "abs", torch.abs, [ints(5, lo=-5, hi=5)])
case("exp extreme", "exp", torch.exp,
     [torch.tensor([-100.0, -20.0, 0.0, 20.0, 80.0], dtype=torch.float64)])
case("gelu", "gelu", F.gelu, [rnd(3, 5, scale=2)], {"approximate": "none"})
case("gelu tanh", "gelu", lambda x: F.gelu(x, approximate="tanh"), [rnd(3, 5, scale=2)],
     {"approximate": "tanh"})
case("silu", "silu", F.silu, [rnd(3, 5, scale=2)])
case("leakyRelu", "leakyRelu", lambda x: F.leaky_relu(x, 0.2), [rnd(3, 5, away=0.01)],
     {"slope": 0.2})
case("clamp", "clamp", lambda x: x.clamp(-0.5, 0.7), [rnd(4, 4, away=0.01)],
     {"min": -0.5, "max": 0.7})

# ------------------------------------------------------------------ comparisons and cast

for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
    a = ints(3, 4, hi=3).double()
    b = ints(4, hi=3).double()
    case(f"{op} broadcast", op, getattr(torch, op), [a, b])
case("logicalAnd", "logicalAnd", torch.logical_and, [ints(3, 4, hi=2) > 0, ints(4, hi=2) > 0])
case("logicalOr", "logicalOr", torch.logical_or, [ints(3, 4, hi=2) > 0, ints(3, 1, hi=2) > 0])
case("lt float", "lt", torch.lt, [rnd(2, 5), rnd(2, 5)])
case("cast float->int32", "cast", lambda x: x.to(torch.int32),
     [torch.tensor([-2.7, -0.5, 0.0, 0.9, 1.5, 3.99], dtype=torch.float64)], {"dtype": "int32"})
case("cast float->bool", "cast", lambda x: x.to(torch.bool),
     [torch.tensor([-2.7, 0.0, 0.25, 1.0], dtype=torch.float64)], {"dtype": "bool"})
case("cast int->float", "cast", lambda x: x.double(), [ints(6, lo=-9, hi=9)],
     {"dtype": "float32"})
case("cast bool->float", "cast", lambda x: x.double(), [ints(6, hi=2) > 0],
     {"dtype": "float32"})
case("cast bool->int32", "cast", lambda x: x.to(torch.int32), [ints(6, hi=2) > 0],
     {"dtype": "int32"})

# ------------------------------------------------------------------ reductions

X = (2, 3, 4)
for op, fn in [("sum", torch.sum), ("mean", torch.mean), ("max", torch.amax),
               ("min", torch.amin)]:
    case(f"{op} all", op, lambda x, fn=fn: fn(x) if op in ("sum", "mean") else fn(x, dim=(0, 1, 2)),
         [rnd(*X)], {"dims": None, "keepdim": False})
    for dims in [[0], [1], [-1], [0, 2]]:
        for keep in [False, True]:
            case(f"{op} dims={dims} keepdim={keep}", op,
                 lambda x, fn=fn, dims=dims, keep=keep: fn(x, dim=dims, keepdim=keep),
                 [rnd(*X)], {"dims": dims, "keepdim": keep})
case("sum int32", "sum", lambda x: x.sum(dim=1).to(torch.int32), [ints(3, 4, lo=-5, hi=5)],
     {"dims": [1], "keepdim": False})
case("max ties split evenly", "max", lambda x: torch.amax(x, dim=1),
     [ints(3, 4, hi=2).double()], {"dims": [1], "keepdim": False})
case("min ties all", "min", lambda x: torch.amin(x), [ints(2, 3, hi=2).double()],
     {"dims": None, "keepdim": False})
# Large sum: 4096 terms of magnitude ~1; float32 accumulation error grows with the count.
case("sum large", "sum", lambda x: x.sum(), [rnd(64, 64)], {"dims": None, "keepdim": False})
for op in ["argmax", "argmin"]:
    case(f"{op} flat", op, lambda x, op=op: getattr(torch, op)(x).to(torch.int32), [rnd(*X)],
         {"dim": None, "keepdim": False})
    for dim in [0, 1, -1]:
        for keep in [False, True]:
            case(f"{op} dim={dim} keepdim={keep}", op,
                 lambda x, op=op, dim=dim, keep=keep: getattr(torch, op)(x, dim=dim,
                                                                           keepdim=keep).to(
                     torch.int32), [rnd(*X)], {"dim": dim, "keepdim": keep})
case("argmax ties first", "argmax", lambda x: torch.argmax(x, dim=1).to(torch.int32),
     [torch.tensor([[1., 3., 3.], [2., 2., 0.]], dtype=torch.float64)],
     {"dim": 1, "keepdim": False})
for op, fn in [("var", torch.var), ("std", torch.std)]:
    case(f"{op} all", op, lambda x, fn=fn: fn(x), [rnd(*X)],
         {"dims": None, "correction": 1, "keepdim": False})
    case(f"{op} dim=1 correction=0", op, lambda x, fn=fn: fn(x, dim=1, unbiased=False),
         [rnd(*X)], {"dims": [1], "correction": 0, "keepdim": False})
    case(f"{op} dims=[0,2] keepdim", op, lambda x, fn=fn: fn(x, dim=(0, 2), keepdim=True),
         [rnd(*X)], {"dims": [0, 2], "correction": 1, "keepdim": True})
case("logsumexp dim=1", "logsumexp", lambda x: torch.logsumexp(x, dim=1),
     [rnd(3, 5, scale=30)], {"dims": 1, "keepdim": False})

# ------------------------------------------------------------------ matmul

MM = [((5,), (5,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
      ((2, 1, 3, 4), (3, 4, 2)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
      ((1, 7), (7, 1))]
for sa, sb in MM:
    case(f"matmul {list(sa)} @ {list(sb)}", "matmul", torch.matmul, [rnd(*sa), rnd(*sb)])

# ------------------------------------------------------------------ movement

case("reshape -1", "reshape", lambda x: x.reshape(4, -1), [rnd(2, 3, 4)], {"shape": [4, -1]})
case("reshape to 0-d", "reshape", lambda x: x.reshape(()), [rnd(1, 1)], {"shape": []})
case("permute", "permute", lambda x: x.permute(2, 0, 1), [rnd(2, 3, 4)], {"dims": [2, 0, 1]})
case("permute 4-D", "permute", lambda x: x.permute(0, 3, 1, 2), [rnd(2, 3, 1, 4)],
     {"dims": [0, 3, 1, 2]})
case("transpose", "transpose", lambda x: x.transpose(0, -1), [rnd(2, 3, 4)], {"dims": [0, -1]})
case("expand", "expand", lambda x: x.expand(2, 3, 4), [rnd(3, 1)], {"shape": [2, 3, 4]})
case("expand -1", "expand", lambda x: x.expand(5, -1), [rnd(1, 3)], {"shape": [5, -1]})
case("slice steps", "slice", lambda x: x[1:6:2, ::3], [rnd(7, 8)],
     {"specs": [{"start": 1, "end": 6, "step": 2}, {"step": 3}]})
case("slice negative", "slice", lambda x: x[:, -3:-1, 1], [rnd(2, 5, 3)],
     {"specs": [None, {"start": -3, "end": -1}, 1]})
case("slice 3-D steps", "slice", lambda x: x[::2, 1:, ::2], [rnd(5, 4, 5)],
     {"specs": [{"step": 2}, {"start": 1}, {"step": 2}]})
case("cat dim=1", "cat", lambda a, b, c: torch.cat([a, b, c], 1), [rnd(2, 1, 3), rnd(2, 4, 3),
                                                                    rnd(2, 2, 3)], {"dim": 1})
case("cat dim=0", "cat", lambda a, b: torch.cat([a, b], 0), [rnd(2, 3), rnd(1, 3)], {"dim": 0})
case("cat dim=-1", "cat", lambda a, b: torch.cat([a, b], -1), [rnd(2, 3), rnd(2, 2)], {"dim": -1})
case("stack dim=1", "stack", lambda a, b, c: torch.stack([a, b, c], 1),
     [rnd(2, 3), rnd(2, 3), rnd(2, 3)], {"dim": 1})
case("stack dim=-1", "stack", lambda a, b: torch.stack([a, b], -1), [rnd(4), rnd(4)], {"dim": -1})
case("squeeze all", "squeeze", lambda x: x.squeeze(), [rnd(1, 3, 1, 2)], {"dim": None})
case("squeeze dim", "squeeze", lambda x: x.squeeze(2), [rnd(1, 3, 1, 2)], {"dim": 2})
case("squeeze non-1 dim", "squeeze", lambda x: x.squeeze(1), [rnd(1, 3, 1, 2)], {"dim": 1})
case("unsqueeze", "unsqueeze", lambda x: x.unsqueeze(-1), [rnd(2, 3)], {"dim": -1})
case("unsqueeze 0", "unsqueeze", lambda x: x.unsqueeze(0), [rnd(2, 3)], {"dim": 0})
case("flatten", "flatten", lambda x: x.flatten(1), [rnd(2, 3, 2, 2)], {"start": 1, "end": -1})
case("flatten middle", "flatten", lambda x: x.flatten(1, 2), [rnd(2, 3, 2, 2)],
     {"start": 1, "end": 2})
case("pad last two", "pad", lambda x: F.pad(x, [1, 2, 0, 1]), [rnd(2, 3, 4)],
     {"padding": [1, 2, 0, 1], "value": 0})
case("pad value", "pad", lambda x: F.pad(x, [2, 1], value=-1.5), [rnd(3, 2)],
     {"padding": [2, 1], "value": -1.5})
case("gather dim=1", "gather", lambda x, i: torch.gather(x, 1, i.long()),
     [rnd(3, 5), ints(3, 4, hi=5)], {"dim": 1})
case("gather dim=0 repeats", "gather", lambda x, i: torch.gather(x, 0, i.long()),
     [rnd(4, 3), ints(6, 2, hi=4)], {"dim": 0})
case("clone", "clone", lambda x: x.clone(), [rnd(2, 3)])

# ------------------------------------------------------------------ softmax

case("softmax dim=1", "softmax", lambda x: torch.softmax(x, 1), [rnd(3, 5, scale=2)], {"dim": 1})
case("softmax dim=0", "softmax", lambda x: torch.softmax(x, 0), [rnd(4, 3, scale=2)], {"dim": 0})
case("softmax 3-D middle", "softmax", lambda x: torch.softmax(x, 1), [rnd(2, 4, 3)], {"dim": 1})
case("logSoftmax dim=-1", "logSoftmax", lambda x: torch.log_softmax(x, -1),
     [rnd(3, 5, scale=2)], {"dim": -1})
case("logSoftmax 3-D dim=0", "logSoftmax", lambda x: torch.log_softmax(x, 0),
     [rnd(3, 2, 4, scale=2)], {"dim": 0})
EXT = torch.tensor([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -999.0, -1000.0],
                    [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
case("softmax extreme logits", "softmax", lambda x: torch.softmax(x, 1), [EXT], {"dim": 1})
case("logSoftmax extreme logits", "logSoftmax", lambda x: torch.log_softmax(x, 1), [EXT],
     {"dim": 1})
case("logSoftmax extreme logits dim=0", "logSoftmax", lambda x: torch.log_softmax(x, 0), [EXT],
     {"dim": 0})

# ------------------------------------------------------------------ conv2d


def conv(name, xs, ws, bias=True, **kw):
    inputs = [rnd(*xs), rnd(*ws)] + ([rnd(ws[0])] if bias else [])
    case(name, "conv2d", lambda x, w, b=None: F.conv2d(x, w, b, **kw), inputs, kw)


conv("conv2d basic", (2, 3, 6, 5), (4, 3, 3, 3))
conv("conv2d no bias", (1, 2, 5, 5), (3, 2, 3, 3), bias=False)
conv("conv2d stride 2 padding 1", (2, 2, 7, 6), (3, 2, 3, 3), stride=2, padding=1)
conv("conv2d rect stride/padding", (1, 2, 7, 8), (2, 2, 3, 2), stride=(2, 1), padding=(1, 0))
conv("conv2d dilation 2", (1, 2, 8, 7), (3, 2, 3, 3), dilation=2, padding=1)
conv("conv2d groups 2", (2, 4, 5, 5), (6, 2, 3, 3), groups=2, padding=1)
conv("conv2d depthwise", (1, 3, 5, 4), (3, 1, 3, 3), groups=3)
conv("conv2d 1x1", (2, 3, 4, 4), (5, 3, 1, 1))
conv("conv2d same odd", (1, 2, 5, 6), (3, 2, 3, 3), padding="same")
conv("conv2d same even kernel", (1, 2, 5, 6), (2, 2, 4, 2), padding="same")
conv("conv2d same dilation", (1, 1, 7, 7), (2, 1, 3, 3), padding="same", dilation=2)
conv("conv2d valid", (1, 2, 5, 6), (2, 2, 2, 3), padding="valid")

# ------------------------------------------------------------------ pooling


def mpool(name, xs, k, inp=None, **kw):
    case(name, "maxPool2d", lambda x: F.max_pool2d(x, k, **kw), [inp if inp is not None
                                                                   else rnd(*xs)],
         dict(kernelSize=k, **kw))


mpool("maxPool2d 2x2", (2, 3, 6, 6), 2)
mpool("maxPool2d 3x3 stride 2 padding 1", (1, 2, 7, 7), 3, stride=2, padding=1)
mpool("maxPool2d ceil", (1, 2, 7, 6), 2, ceil_mode=True)
mpool("maxPool2d ceil padding", (1, 1, 6, 7), 3, stride=2, padding=1, ceil_mode=True)
mpool("maxPool2d rect", (1, 2, 6, 7), (2, 3), stride=(2, 1))
mpool("maxPool2d dilation", (1, 1, 7, 7), 2, stride=1, dilation=2)
mpool("maxPool2d overlapping", (1, 2, 5, 5), 3, stride=1)


def apool(name, xs, k, **kw):
    case(name, "avgPool2d", lambda x: F.avg_pool2d(x, k, **kw), [rnd(*xs)],
         dict(kernelSize=k, **kw))


apool("avgPool2d 2x2", (2, 3, 6, 6), 2)
apool("avgPool2d padding", (1, 2, 5, 5), 3, stride=2, padding=1)
apool("avgPool2d padding no count_include_pad", (1, 2, 5, 5), 3, stride=2, padding=1,
      count_include_pad=False)
apool("avgPool2d ceil", (1, 2, 7, 6), 2, ceil_mode=True)
apool("avgPool2d ceil padding", (1, 1, 6, 7), 3, stride=2, padding=1, ceil_mode=True)
apool("avgPool2d divisor", (1, 2, 4, 4), 2, divisor_override=3)
for size in [(1, 1), (3, 2), (2, 2), (4, 3)]:
    case(f"adaptiveAvgPool2d {list(size)}", "adaptiveAvgPool2d",
         lambda x, size=size: F.adaptive_avg_pool2d(x, size), [rnd(2, 2, 7, 5)],
         {"outputSize": list(size)})

# ------------------------------------------------------------------ linear, norms, dropout

case("linear", "linear", F.linear, [rnd(4, 5), rnd(3, 5), rnd(3)])
case("linear no bias", "linear", F.linear, [rnd(4, 5), rnd(3, 5)])
case("linear 3-D", "linear", F.linear, [rnd(2, 3, 5), rnd(4, 5), rnd(4)])


def bn(name, xs, training, momentum=0.1, eps=1e-5, affine=True):
    c = xs[1]
    inputs = [rnd(*xs), rnd(c, scale=0.3), rnd(c, lo=0.5, hi=1.5)]
    if affine:
        inputs += [rnd(c, lo=0.5, hi=1.5), rnd(c)]

    def fn(x, rm, rv, w=None, b=None):
        return F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)

    case(name, "batchNorm", fn, inputs,
         {"training": training, "momentum": momentum, "eps": eps}, nograd=(1, 2),
         extra=lambda leaves: {"runningMean": leaves[1], "runningVar": leaves[2]})


bn("batchNorm training 4-D", (3, 2, 3, 4), True)
bn("batchNorm training 2-D", (6, 4), True, momentum=0.3)
bn("batchNorm eval 4-D", (2, 3, 2, 2), False)
bn("batchNorm training no affine", (4, 3, 2), True, affine=False)
for size in [3, 4]:
    case(f"localResponseNorm size={size}", "localResponseNorm",
         lambda x, size=size: F.local_response_norm(x, size, alpha=1e-2, beta=0.75, k=2.0),
         [rnd(2, 5, 3, 3, scale=2)], {"size": size, "alpha": 1e-2, "beta": 0.75, "k": 2.0})
case("dropout p=0", "dropout", lambda x: F.dropout(x, 0.0, training=True), [rnd(3, 4)],
     {"p": 0})

with open(OUT, "w") as f:
    json.dump({"generator": "tools/gen_core_fixtures.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}")
