#!/usr/bin/env python3
"""Writes tests/fixtures/conv_pool.json: PyTorch golden values for the CPU conv/pool kernels.

Run from the repository root:  /usr/bin/python3 tools/gen_conv_pool_fixtures.py

Inputs are rounded to 3 decimals (short JSON) and then cast to float32, so they are exactly what
the TypeScript test sees after Float32Array.from(). Goldens are computed in float64 from those
float32 values, so they are the exact answer the float32 kernels approximate, and are rounded to
7 significant digits.
"""

import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "conv_pool.json")


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def make_input(gen, shape, ints=None):
    """float32-representable input; `ints` gives small integers to provoke ties in max pooling."""
    if ints is not None:
        t = torch.randint(0, ints, shape, generator=gen).double()
    else:
        t = torch.randn(shape, generator=gen, dtype=torch.float64)
        t = torch.round(t * 1000) / 1000
    return t.float().double()


def enc_in(t):
    return [float("%.3f" % v) for v in t.flatten().tolist()]


def enc_out(t):
    return [float("%.7g" % v) for v in t.flatten().tolist()]


def conv_case(gen, name, n, c, h, w, o, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
    kh, kw = pair(k)
    x = make_input(gen, (n, c, h, w)).requires_grad_()
    wt = make_input(gen, (o, c // groups, kh, kw)).requires_grad_()
    b = make_input(gen, (o,)) if bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    gy = make_input(gen, tuple(y.shape))
    y.backward(gy)
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    return {
        "name": name,
        "params": {
            "n": n, "c": c, "h": h, "w": w, "o": o, "kh": kh, "kw": kw,
            "strideH": sh, "strideW": sw, "padH": ph, "padW": pw,
            "dilationH": dh, "dilationW": dw, "groups": groups,
            "oh": y.shape[2], "ow": y.shape[3],
        },
        "x": enc_in(x.detach()),
        "w": enc_in(wt.detach()),
        "b": enc_in(b) if bias else None,
        "y": enc_out(y.detach()),
        "gy": enc_in(gy),
        "dx": enc_out(x.grad),
        "dw": enc_out(wt.grad),
    }


def pool_params(n, c, h, w, k, stride, padding, dilation, ceil, oh, ow, include_pad=True,
                divisor=None):
    kh, kw = pair(k)
    sh, sw = pair(stride if stride is not None else k)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    p = {
        "n": n, "c": c, "h": h, "w": w, "kh": kh, "kw": kw,
        "strideH": sh, "strideW": sw, "padH": ph, "padW": pw,
        "dilationH": dh, "dilationW": dw, "oh": oh, "ow": ow,
        "ceilMode": ceil, "countIncludePad": include_pad,
    }
    if divisor is not None:
        p["divisorOverride"] = divisor
    return p


def max_case(gen, name, n, c, h, w, k, stride=None, padding=0, dilation=1, ceil=False, ints=None):
    x = make_input(gen, (n, c, h, w), ints).requires_grad_()
    y, idx = F.max_pool2d(x, k, stride=stride, padding=padding, dilation=dilation,
                          ceil_mode=ceil, return_indices=True)
    gy = make_input(gen, tuple(y.shape))
    y.backward(gy)
    return {
        "name": name,
        "params": pool_params(n, c, h, w, k, stride, padding, dilation, ceil, y.shape[2],
                              y.shape[3]),
        "x": enc_in(x.detach()),
        "y": enc_out(y.detach()),
        "indices": idx.flatten().tolist(),
        "gy": enc_in(gy),
        "dx": enc_out(x.grad),
    }


def avg_case(gen, name, n, c, h, w, k, stride=None, padding=0, ceil=False, include_pad=True,
             divisor=None):
    x = make_input(gen, (n, c, h, w)).requires_grad_()
    y = F.avg_pool2d(x, k, stride=stride, padding=padding, ceil_mode=ceil,
                     count_include_pad=include_pad, divisor_override=divisor)
    gy = make_input(gen, tuple(y.shape))
    y.backward(gy)
    return {
        "name": name,
        "params": pool_params(n, c, h, w, k, stride, padding, 1, ceil, y.shape[2], y.shape[3],
                              include_pad, divisor),
        "x": enc_in(x.detach()),
        "y": enc_out(y.detach()),
        "gy": enc_in(gy),
        "dx": enc_out(x.grad),
    }


def adaptive_case(gen, name, n, c, h, w, oh, ow):
    x = make_input(gen, (n, c, h, w)).requires_grad_()
    y = F.adaptive_avg_pool2d(x, (oh, ow))
    gy = make_input(gen, tuple(y.shape))
    y.backward(gy)
    return {
        "name": name,
        "params": {"n": n, "c": c, "h": h, "w": w, "oh": oh, "ow": ow},
        "x": enc_in(x.detach()),
        "y": enc_out(y.detach()),
        "gy": enc_in(gy),
        "dx": enc_out(x.grad),
    }


def main():
    gen = torch.Generator().manual_seed(20240601)
    conv = [
        conv_case(gen, "3x3 plain", 2, 4, 7, 9, 6, 3),
        conv_case(gen, "3x3 stride(1,2) pad1 groups2", 2, 4, 7, 9, 4, 3, stride=(1, 2),
                  padding=1, groups=2),
        conv_case(gen, "3x3 stride2 pad2 dil2 groups4 (depthwise x2)", 2, 4, 7, 9, 8, 3,
                  stride=2, padding=2, dilation=2, groups=4),
        conv_case(gen, "5x3 stride(2,1) pad(2,1) dil(1,2)", 2, 4, 7, 9, 3, (5, 3),
                  stride=(2, 1), padding=(2, 1), dilation=(1, 2)),
        conv_case(gen, "5x3 pad(0,2) dil2 groups2 no bias", 2, 4, 9, 7, 6, (5, 3),
                  padding=(0, 2), dilation=2, groups=2, bias=False),
        conv_case(gen, "1x1 pointwise", 2, 4, 7, 9, 5, 1),
        conv_case(gen, "1x1 pointwise groups2", 2, 4, 7, 9, 6, 1, groups=2),
        conv_case(gen, "1x1 stride2 pad1", 2, 4, 7, 9, 3, 1, stride=2, padding=1),
        conv_case(gen, "3x3 stride(2,3) pad(2,0)", 1, 3, 8, 11, 2, 3, stride=(2, 3),
                  padding=(2, 0)),
        conv_case(gen, "kernel covers whole padded input", 2, 2, 5, 4, 3, (7, 6), padding=1),
        conv_case(gen, "stride larger than kernel", 1, 2, 9, 9, 2, 2, stride=3, padding=1),
    ]
    maxp = [
        max_case(gen, "k3 s2 p1", 2, 3, 7, 9, 3, 2, 1),
        max_case(gen, "k3 s2 p1 ceil", 2, 3, 8, 10, 3, 2, 1, ceil=True),
        max_case(gen, "k2 default stride", 2, 3, 7, 9, 2),
        max_case(gen, "k(2,3) s(2,2) p(1,1) dil(2,1)", 2, 3, 7, 9, (2, 3), 2, 1, (2, 1)),
        max_case(gen, "k3 s2 dil2 ceil", 1, 2, 8, 10, 3, 2, 0, 2, ceil=True),
        max_case(gen, "k(3,2) s(1,2) p(1,0) overlapping", 1, 2, 6, 7, (3, 2), (1, 2), (1, 0)),
        max_case(gen, "ties k3 s1 p1", 1, 2, 6, 6, 3, 1, 1, ints=3),
        max_case(gen, "k3 s3 p1 ceil", 1, 2, 7, 7, 3, 3, 1, ceil=True),
        # ceil_mode would add a window starting in the right padding; PyTorch drops it.
        max_case(gen, "k2 s3 p1 ceil dropped window", 1, 2, 5, 8, 2, 3, 1, ceil=True),
    ]
    avgp = [
        avg_case(gen, "k3 s2 p1 include_pad", 2, 3, 7, 9, 3, 2, 1),
        avg_case(gen, "k3 s2 p1 exclude_pad", 2, 3, 7, 9, 3, 2, 1, include_pad=False),
        avg_case(gen, "k3 s2 p1 ceil include_pad", 2, 3, 8, 10, 3, 2, 1, ceil=True),
        avg_case(gen, "k3 s2 p1 ceil exclude_pad", 2, 3, 8, 10, 3, 2, 1, ceil=True,
                 include_pad=False),
        avg_case(gen, "k(3,2) s(2,3) p(1,1) ceil include_pad", 1, 2, 8, 10, (3, 2), (2, 3),
                 (1, 1), ceil=True),
        avg_case(gen, "k3 s2 p1 divisor5", 1, 2, 7, 9, 3, 2, 1, divisor=5),
        avg_case(gen, "k3 s2 p1 ceil divisor5", 1, 2, 6, 6, 3, 2, 1, ceil=True, divisor=5),
        avg_case(gen, "k2 default stride", 2, 3, 7, 9, 2),
        avg_case(gen, "k4 s3 ceil no pad", 1, 2, 8, 8, 4, 3, 0, ceil=True),
        avg_case(gen, "k2 s3 p1 ceil dropped window include_pad", 1, 2, 5, 8, 2, 3, 1, ceil=True),
    ]
    adaptive = [
        adaptive_case(gen, "7x9 -> 3x4", 2, 3, 7, 9, 3, 4),
        adaptive_case(gen, "7x9 -> 1x1 (global)", 2, 3, 7, 9, 1, 1),
        adaptive_case(gen, "5x5 -> 3x3", 1, 2, 5, 5, 3, 3),
        adaptive_case(gen, "4x5 -> 6x7 (upsampling)", 1, 2, 4, 5, 6, 7),
        adaptive_case(gen, "6x8 -> 3x4 (divisible)", 1, 2, 6, 8, 3, 4),
    ]
    data = {
        "generator": "tools/gen_conv_pool_fixtures.py",
        "torch": torch.__version__,
        "conv": conv,
        "maxPool": maxp,
        "avgPool": avgp,
        "adaptiveAvgPool": adaptive,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
