#!/usr/bin/env python3
"""Writes tests/fixtures/attention.json and tests/fixtures/rnn.json: PyTorch golden values for
layers/attention.ts, layers/transformer.ts and layers/rnn.ts.

Run from the repository root:  /usr/bin/python3 tools/gen_attention_fixtures.py

attention.json
  sdpa: F.scaled_dot_product_attention does not exist in PyTorch 1.13, so the reference is the
    formula itself, softmax(q kᵀ · scale + mask) v (a bool mask keeps where true, a float mask is
    added, is_causal is the top-left aligned lower triangle), differentiated by torch autograd.
  modules: torch.nn.MultiheadAttention, TransformerEncoderLayer, TransformerDecoderLayer,
    TransformerEncoder and TransformerDecoder (1.13), built from a JSON spec the TS test turns into
    denn modules. The forward options are tensors (masks) or flags; loss = Σ output·g (+ Σ weights·gw
    for attention weights) gives the gradients of every input and parameter.
rnn.json
  torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell and GRUCell: outputs, final states and the gradients
  of loss = Σ output·g + Σ h·gh (+ Σ c·gc) for the input, the initial state and every parameter.

Parameters are PyTorch's seeded initialisation rounded to 4 decimals, inputs and upstream gradients
are rounded to 3 decimals (all float32-exact), and the goldens are computed in float64 from them
and rounded to 7 significant digits, so they are the exact answer the float32 layers approximate.
Tensors are encoded as {"shape", "dtype", "data"} with bool data as 0/1.
"""

import json
import math
import os
import re

import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(4321)


def camel(name):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def rounded(shape, decimals=3, scale=1.0):
    t = torch.randn(shape, generator=GEN, dtype=torch.float64) * scale
    return torch.round(t * 10 ** decimals) / 10 ** decimals


def enc_exact(t):
    return [float("%.6g" % v) for v in t.flatten().tolist()]


def enc(t):
    return [float("%.7g" % v) for v in t.flatten().tolist()]


def tens(t, exact=True):
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "data": [int(v) for v in t.flatten().tolist()]}
    return {"shape": list(t.shape), "dtype": "float32", "data": enc_exact(t) if exact else enc(t)}


def round_params(m):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.round(p * 1e4) / 1e4)
    return m.double()


def keep_mask(shape, p_keep=0.7):
    """A bool mask with every row (last dim) keeping at least one position."""
    m = torch.rand(shape, generator=GEN) < p_keep
    m[..., 0] = True
    return m


# ---------------------------------------------------------------- scaled dot-product attention


def sdpa_ref(q, k, v, mask=None, is_causal=False, scale=None):
    L, S = q.size(-2), k.size(-2)
    scale = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if is_causal:
        mask = torch.ones(L, S, dtype=torch.bool).tril()
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, -1) @ v


def sdpa_case(name, qs, ks, vs, mask=None, is_causal=False, scale=None):
    q, k, v = (rounded(s).requires_grad_() for s in (qs, ks, vs))
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.clone().requires_grad_()
    y = sdpa_ref(q, k, v, mask, is_causal, scale)
    g = rounded(tuple(y.shape))
    (y * g).sum().backward()
    options = {}
    if mask is not None:
        options["attnMask"] = tens(mask.detach())
    if is_causal:
        options["isCausal"] = True
    if scale is not None:
        options["scale"] = scale
    out = {"name": name, "q": tens(q.detach()), "k": tens(k.detach()), "v": tens(v.detach()),
           "options": options, "g": tens(g), "y": tens(y.detach(), False),
           "dq": enc(q.grad), "dk": enc(k.grad), "dv": enc(v.grad)}
    if mask is not None and mask.dtype != torch.bool:
        out["dmask"] = enc(mask.grad)
    return out


def sdpa_cases():
    c = []
    c.append(sdpa_case("4-D no mask", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)))
    c.append(sdpa_case("2-D", (4, 3), (5, 3), (5, 2)))
    c.append(sdpa_case("batch broadcast", (2, 3, 4, 5), (3, 6, 5), (1, 3, 6, 2)))
    c.append(sdpa_case("causal square", (2, 5, 4), (2, 5, 4), (2, 5, 3), is_causal=True))
    c.append(sdpa_case("causal L < S", (1, 3, 4), (1, 6, 4), (1, 6, 4), is_causal=True))
    c.append(sdpa_case("causal L > S", (1, 6, 4), (1, 3, 4), (1, 3, 4), is_causal=True))
    c.append(sdpa_case("bool mask [L, S]", (2, 2, 4, 3), (2, 2, 5, 3), (2, 2, 5, 3),
                       mask=keep_mask((4, 5))))
    c.append(sdpa_case("bool mask [N, 1, L, S]", (2, 2, 4, 3), (2, 2, 5, 3), (2, 2, 5, 3),
                       mask=keep_mask((2, 1, 4, 5))))
    c.append(sdpa_case("float mask [1, L, S]", (3, 4, 6), (3, 5, 6), (3, 5, 2),
                       mask=rounded((1, 4, 5))))
    c.append(sdpa_case("scale 0.3", (2, 4, 5), (2, 6, 5), (2, 6, 5), scale=0.3))
    return c


# ---------------------------------------------------------------- attention and transformer modules


def mha(*args, **kw):
    return nn.MultiheadAttention(*args, **kw), {"type": "MultiheadAttention", "args": list(args),
                                                "options": {camel(k): v for k, v in kw.items()}}


def act_spec(kw):
    a = kw.get("activation")
    if a is torch.tanh:
        kw = dict(kw)
        kw["activation"] = "customTanh"
    return {camel(k): v for k, v in kw.items()}


def enc_layer(*args, **kw):
    return (nn.TransformerEncoderLayer(*args, **kw),
            {"type": "TransformerEncoderLayer", "args": list(args), "options": act_spec(kw)})


def dec_layer(*args, **kw):
    return (nn.TransformerDecoderLayer(*args, **kw),
            {"type": "TransformerDecoderLayer", "args": list(args), "options": act_spec(kw)})


def encoder(layer, n, norm_dim=None):
    m, spec = layer
    norm = nn.LayerNorm(norm_dim) if norm_dim else None
    return (nn.TransformerEncoder(m, n, norm=norm, enable_nested_tensor=False),
            {"type": "TransformerEncoder", "layer": spec, "numLayers": n, "normDim": norm_dim})


def decoder(layer, n, norm_dim=None):
    m, spec = layer
    norm = nn.LayerNorm(norm_dim) if norm_dim else None
    return (nn.TransformerDecoder(m, n, norm=norm),
            {"type": "TransformerDecoder", "layer": spec, "numLayers": n, "normDim": norm_dim})


def module_case(name, built, inputs, kwargs=None, training=False, weights=False):
    """`inputs`: positional tensor shapes (floats, requiring grad); `kwargs`: torch keyword ->
    (camelCase name, value) where value is a tensor (mask) or a plain flag."""
    m, spec = built
    # Norms' weights and biases are 1 and 0 at init; perturb them so the test sees their effect.
    with torch.no_grad():
        for k, p in m.named_parameters():
            if "norm" in k:
                p.add_(torch.randn(p.shape, generator=GEN) * 0.1)
    m = round_params(m)
    m.train(training)
    xs = [rounded(s).requires_grad_() for s in inputs]
    kwargs = kwargs or {}
    masks = {}
    torch_kw = {}
    for tk, (ck, v) in kwargs.items():
        if isinstance(v, torch.Tensor) and v.dtype != torch.bool:
            v = v.clone().double().requires_grad_()
        torch_kw[tk] = v
        masks[ck] = v
    r = m(*xs, **torch_kw)
    out = r[0] if isinstance(r, tuple) else r
    w = r[1] if isinstance(r, tuple) else None
    g = rounded(tuple(out.shape))
    loss = (out * g).sum()
    gw = None
    if weights and w is not None:
        gw = rounded(tuple(w.shape))
        loss = loss + (w * gw).sum()
    m.zero_grad()
    loss.backward()
    fwd = {}
    for ck, v in masks.items():
        fwd[ck] = tens(v.detach()) if isinstance(v, torch.Tensor) else v
    res = {"name": name, "spec": spec, "training": training,
           "state": {k: enc_exact(v) for k, v in m.state_dict().items()},
           "stateKeys": list(m.state_dict().keys()),
           "inputs": [tens(x.detach()) for x in xs], "forward": fwd,
           "g": tens(g), "y": tens(out.detach(), False),
           "dInputs": [enc(x.grad) for x in xs],
           "grads": {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None},
           "dMasks": {ck: enc(v.grad) for ck, v in masks.items()
                      if isinstance(v, torch.Tensor) and v.grad is not None}}
    if isinstance(r, tuple):
        res["weights"] = None if w is None else tens(w.detach(), False)
        res["gw"] = None if gw is None else tens(gw)
    return res


def module_cases():
    c = []
    L, S, N, E = 4, 5, 2, 8
    c.append(module_case("MHA [L, N, E]", mha(E, 2), [(L, N, E)] * 3, weights=True))
    c.append(module_case("MHA cross batchFirst", mha(E, 4, batch_first=True),
                         [(N, L, E), (N, S, E), (N, S, E)], weights=True))
    c.append(module_case("MHA kdim vdim", mha(E, 2, kdim=3, vdim=5),
                         [(L, N, E), (S, N, 3), (S, N, 5)], weights=True))
    c.append(module_case("MHA no bias per-head weights", mha(E, 2, bias=False),
                         [(L, N, E), (S, N, E), (S, N, E)],
                         {"average_attn_weights": ("averageAttnWeights", False)}, weights=True))
    kpm = torch.zeros(N, S, dtype=torch.bool)
    kpm[0, 3:] = True
    kpm[1, 1] = True
    c.append(module_case("MHA bool masks", mha(E, 2),
                         [(L, N, E), (S, N, E), (S, N, E)],
                         {"key_padding_mask": ("keyPaddingMask", kpm),
                          "attn_mask": ("attnMask", ~keep_mask((L, S)))}, weights=True))
    # PyTorch 1.13 cannot combine a float key_padding_mask with an attn_mask: one case each.
    c.append(module_case("MHA float key padding mask", mha(E, 2),
                         [(L, N, E), (S, N, E), (S, N, E)],
                         {"key_padding_mask": ("keyPaddingMask", rounded((N, S)))}, weights=True))
    c.append(module_case("MHA float attn mask 3-D", mha(E, 2),
                         [(L, N, E), (S, N, E), (S, N, E)],
                         {"attn_mask": ("attnMask", rounded((N * 2, L, S)))}, weights=True))
    c.append(module_case("MHA bias_kv zero_attn masks",
                         mha(E, 2, add_bias_kv=True, add_zero_attn=True, kdim=6, vdim=6),
                         [(L, N, E), (S, N, 6), (S, N, 6)],
                         {"key_padding_mask": ("keyPaddingMask", kpm),
                          "attn_mask": ("attnMask", ~keep_mask((L, S)))}, weights=True))
    c.append(module_case("MHA unbatched 3-D mask", mha(E, 2, batch_first=True),
                         [(L, E), (S, E), (S, E)],
                         {"key_padding_mask": ("keyPaddingMask", kpm[0]),
                          "attn_mask": ("attnMask", ~keep_mask((2, L, S))),
                          "average_attn_weights": ("averageAttnWeights", False)}, weights=True))
    c.append(module_case("MHA need_weights false", mha(E, 2), [(L, N, E)] * 3,
                         {"need_weights": ("needWeights", False)}))
    causal = torch.ones(L, L, dtype=torch.bool).triu(1)
    c.append(module_case("MHA causal mask", mha(E, 2), [(L, N, E)] * 3,
                         {"attn_mask": ("attnMask", causal)}, weights=True))
    c.append(module_case("MHA training dropout 0", mha(E, 2, dropout=0.0), [(L, N, E)] * 3,
                         training=True, weights=True))

    D, F = 8, 16
    tgt_causal = torch.ones(L, L, dtype=torch.bool).triu(1)
    c.append(module_case("EncoderLayer post-norm relu masks", enc_layer(D, 2, F, 0.0),
                         [(L, N, D)],
                         {"src_mask": ("srcMask", ~keep_mask((L, L))),
                          "src_key_padding_mask": ("srcKeyPaddingMask", kpm[:, :L])}))
    c.append(module_case("EncoderLayer pre-norm gelu batchFirst",
                         enc_layer(D, 4, F, 0.0, activation="gelu", batch_first=True,
                                   norm_first=True, layer_norm_eps=1e-3),
                         [(N, L, D)], {"src_mask": ("srcMask", rounded((L, L)))}, training=True))
    c.append(module_case("EncoderLayer custom activation unbatched",
                         enc_layer(D, 2, F, 0.0, activation=torch.tanh), [(L, D)]))
    c.append(module_case("DecoderLayer post-norm masks", dec_layer(D, 2, F, 0.0),
                         [(L, N, D), (S, N, D)],
                         {"tgt_mask": ("tgtMask", tgt_causal),
                          "memory_key_padding_mask": ("memoryKeyPaddingMask", kpm),
                          "tgt_key_padding_mask": ("tgtKeyPaddingMask", kpm[:, :L]),
                          "memory_mask": ("memoryMask", ~keep_mask((L, S)))}))
    c.append(module_case("DecoderLayer pre-norm gelu batchFirst",
                         dec_layer(D, 4, F, 0.0, activation="gelu", batch_first=True,
                                   norm_first=True),
                         [(N, L, D), (N, S, D)], {"tgt_mask": ("tgtMask", tgt_causal)},
                         training=True))
    c.append(module_case("TransformerEncoder 2 layers with norm",
                         encoder(enc_layer(D, 2, F, 0.0), 2, D), [(L, N, D)],
                         {"mask": ("mask", tgt_causal),
                          "src_key_padding_mask": ("srcKeyPaddingMask", kpm[:, :L])}))
    c.append(module_case("TransformerDecoder 2 layers pre-norm",
                         decoder(dec_layer(D, 2, F, 0.0, norm_first=True, batch_first=True), 2),
                         [(N, L, D), (N, S, D)],
                         {"tgt_mask": ("tgtMask", tgt_causal),
                          "memory_key_padding_mask": ("memoryKeyPaddingMask", kpm)}))
    return c


# ---------------------------------------------------------------- recurrent layers


def rnn_case(name, cls, args, kw, in_shape, hx_shapes=None, training=False):
    m = getattr(nn, cls)(*args, **kw)
    m = round_params(m)
    m.train(training)
    x = rounded(in_shape).requires_grad_()
    hx = None
    if hx_shapes is not None:
        hs = [rounded(s).requires_grad_() for s in hx_shapes]
        hx = tuple(hs) if len(hs) == 2 else hs[0]
    cell = cls.endswith("Cell")
    r = m(x, hx) if hx is not None else m(x)
    if cell:
        out = None
        h, c = (r if isinstance(r, tuple) else (r, None))
    else:
        out, st = r
        h, c = (st if isinstance(st, tuple) else (st, None))
    loss = 0
    gs = {}
    for key, t in (("output", out), ("h", h), ("c", c)):
        if t is None:
            continue
        gs[key] = rounded(tuple(t.shape))
        loss = loss + (t * gs[key]).sum()
    m.zero_grad()
    loss.backward()
    res = {"name": name, "type": cls, "args": list(args),
           "options": {camel(k): v for k, v in kw.items()}, "training": training,
           "state": {k: enc_exact(v) for k, v in m.state_dict().items()},
           "stateKeys": list(m.state_dict().keys()), "x": tens(x.detach()), "dx": enc(x.grad),
           "g": {k: tens(v) for k, v in gs.items()},
           "grads": {k: enc(p.grad) for k, p in m.named_parameters()}}
    res["hx"] = None if hx is None else [tens(t.detach()) for t in (hx if isinstance(hx, tuple) else (hx,))]
    res["dhx"] = None if hx is None else [enc(t.grad) for t in (hx if isinstance(hx, tuple) else (hx,))]
    for key, t in (("output", out), ("h", h), ("c", c)):
        res[key] = None if t is None else tens(t.detach(), False)
    return res


def rnn_cases():
    c = []
    L, N, I, H = 4, 2, 3, 5
    c.append(rnn_case("LSTM 1 layer", "LSTM", (I, H), {}, (L, N, I)))
    c.append(rnn_case("LSTM 2 layers bidirectional hx batchFirst", "LSTM", (I, H),
                      {"num_layers": 2, "bidirectional": True, "batch_first": True}, (N, L, I),
                      [(4, N, H), (4, N, H)]))
    c.append(rnn_case("LSTM no bias unbatched hx", "LSTM", (I, H), {"bias": False}, (L, I),
                      [(1, H), (1, H)]))
    c.append(rnn_case("LSTM proj_size 2 layers bidirectional", "LSTM", (I, H),
                      {"num_layers": 2, "bidirectional": True, "proj_size": 2}, (L, N, I),
                      [(4, N, 2), (4, N, H)]))
    c.append(rnn_case("LSTM dropout eval", "LSTM", (I, H), {"num_layers": 2, "dropout": 0.5},
                      (L, N, I)))
    c.append(rnn_case("GRU 1 layer", "GRU", (I, H), {}, (L, N, I)))
    c.append(rnn_case("GRU 2 layers bidirectional hx", "GRU", (I, H),
                      {"num_layers": 2, "bidirectional": True}, (L, N, I), [(4, N, H)]))
    c.append(rnn_case("GRU batchFirst no bias", "GRU", (I, H), {"batch_first": True, "bias": False},
                      (N, L, I)))
    c.append(rnn_case("GRU unbatched bidirectional", "GRU", (I, H), {"bidirectional": True},
                      (L, I), [(2, H)]))
    c.append(rnn_case("RNN tanh 2 layers", "RNN", (I, H), {"num_layers": 2}, (L, N, I),
                      [(2, N, H)]))
    c.append(rnn_case("RNN relu bidirectional batchFirst", "RNN", (I, H),
                      {"nonlinearity": "relu", "bidirectional": True, "batch_first": True},
                      (N, L, I)))
    c.append(rnn_case("LSTMCell", "LSTMCell", (I, H), {}, (N, I), [(N, H), (N, H)]))
    c.append(rnn_case("LSTMCell no hx unbatched", "LSTMCell", (I, H), {}, (I,)))
    c.append(rnn_case("GRUCell", "GRUCell", (I, H), {}, (N, I), [(N, H)]))
    c.append(rnn_case("GRUCell no bias no hx", "GRUCell", (I, H), {"bias": False}, (N, I)))
    c.append(rnn_case("RNNCell relu unbatched hx", "RNNCell", (I, H), {"nonlinearity": "relu"},
                      (I,), [(H,)]))
    return c


def write(name, data):
    path = os.path.join(ROOT, name)
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {path}: {os.path.getsize(path)} bytes")


def main():
    write("attention.json", {"sdpa": sdpa_cases(), "modules": module_cases()})
    write("rnn.json", {"cases": rnn_cases()})


if __name__ == "__main__":
    main()
