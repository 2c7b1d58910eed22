"""Writes the sequence-model interop fixtures: PyTorch models built from the layers denn mirrors,
their state dicts saved as safetensors under PyTorch's own keys (written by hand when the
safetensors package is absent, with gen_lenet_safetensors.py's writer), plus an input batch and
PyTorch's eval-mode outputs for each. tests/train/pytorch_seq_interop_test.ts loads them.

    /usr/bin/python3 tools/gen_seq_safetensors.py

- lstm_seq: nn.LSTM(28, 32, num_layers=2, batch_first=True) and an nn.Linear(32, 10) head on the
  last step; the attribute names (lstm, head) are those of examples/lstm.ts's RowLSTM.
- bilstm_seq: the same with bidirectional=True and hidden size 16 (hidden 32 would make a
  164 KB file), the head nn.Linear(32, 10) on the last step of both directions.
- vit_tiny: a ViT on 1x28x28 images: nn.Conv2d patch embedding (kernel = stride = 7), a class
  token and a position embedding (Parameters), a pre-norm nn.TransformerEncoder (d_model 16,
  2 heads, feed-forward 32, no dropout, batch_first, 2 layers, final nn.LayerNorm) and an
  nn.Linear head on the class token; the attribute names (patchEmbed, clsToken, posEmbed,
  encoder, head) are those of examples/vit.ts's VisionTransformer.

Every parameter that PyTorch initialises to a constant (LayerNorm weights and biases, attention
biases) is perturbed, so a tensor loaded into the wrong place changes the outputs.

Outputs tests/fixtures/{lstm_seq,bilstm_seq,vit_tiny}.safetensors and <name>_io.json.
"""

import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True  # importing the LeNet script must not leave tools/__pycache__
from gen_lenet_safetensors import FIXTURES, save_safetensors  # noqa: E402

METADATA = {"format": "pt", "source": "pytorch"}


class SeqLSTM(nn.Module):
    """An LSTM over the 28 rows of a digit and a linear classifier on its last step's output."""

    def __init__(self, hidden, bidirectional):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 10)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1]), h, c


class TinyViT(nn.Module):
    def __init__(self, dim=16, heads=2, mlp=32, depth=2, patch=7, image=28):
        super().__init__()
        self.patchEmbed = nn.Conv2d(1, dim, patch, stride=patch)
        self.clsToken = nn.Parameter(torch.randn(1, 1, dim))
        self.posEmbed = nn.Parameter(torch.randn(1, 1 + (image // patch) ** 2, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=mlp, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim))
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        tokens = self.patchEmbed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.clsToken.expand(x.shape[0], -1, -1), tokens], 1) + self.posEmbed
        return self.head(self.encoder(tokens)[:, 0])


def perturb_constants(model):
    """Replaces the constant initial values (ones, zeros) by distinct random ones."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm" in name or name.startswith("norm") or name.endswith("in_proj_bias") \
                    or name.endswith("out_proj.bias"):
                p.add_(0.2 * torch.randn_like(p))


def f32(values):
    """Float32 values as the shortest decimals that read back as the same float32."""
    return [float(repr(np.float32(v))) for v in values]


def inputs(*shape):
    """Uniform [0, 1) inputs with 3 decimals: the float32 nearest each decimal, as JSON reads it."""
    return torch.round(torch.rand(*shape) * 1000) / 1000


def write(name, model, x, outputs):
    path = os.path.join(FIXTURES, f"{name}.safetensors")
    state = model.state_dict()
    try:
        from safetensors.torch import save_file

        save_file(state, path, METADATA)
    except ImportError:
        save_safetensors(path, state, METADATA)
    io = {
        "torch": torch.__version__,
        "keys": list(state.keys()),
        "input_shape": list(x.shape),
        "input": [round(v, 3) for v in x.flatten().tolist()],
    }
    for k, t in outputs.items():
        io[f"{k}_shape"] = list(t.shape)
        io[k] = f32(t.flatten().tolist())
    with open(os.path.join(FIXTURES, f"{name}_io.json"), "w") as f:
        json.dump(io, f)
        f.write("\n")
    print(name, sum(p.numel() for p in model.parameters()), "parameters,",
          os.path.getsize(path), "bytes;", {k: t.flatten()[:2].tolist() for k, t in outputs.items()})


def main():
    torch.manual_seed(2024)
    for name, hidden, bidirectional in [("lstm_seq", 32, False), ("bilstm_seq", 16, True)]:
        model = SeqLSTM(hidden, bidirectional).eval()
        x = inputs(3, 28, 28)
        with torch.no_grad():
            logits, h, c = model(x)
        write(name, model, x, {"logits": logits, "h": h, "c": c})

    model = TinyViT()
    perturb_constants(model)
    model.eval()
    x = inputs(3, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    write("vit_tiny", model, x, {"logits": logits})


if __name__ == "__main__":
    main()
