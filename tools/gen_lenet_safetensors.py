"""Writes the LeNet-5 interop fixtures: a LeNet-5 initialised in PyTorch with denn's architecture
and state-dict keys (plugins/models/lenet.ts), saved as safetensors (written by hand when the
safetensors package is absent), plus an input batch and PyTorch's logits for it.

    /usr/bin/python3 tools/gen_lenet_safetensors.py

Outputs tests/fixtures/lenet5.safetensors and tests/fixtures/lenet5_io.json.
"""

import json
import os
import struct

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")


class LeNet5(nn.Module):
    """denn's default LeNet-5: ReLU + max pooling, conv1 padded by 2 for 28x28 input."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64", torch.float64: "F64", torch.bool: "BOOL"}


def save_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand: u64 LE header size, JSON header, little-endian data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(1234)
    model = LeNet5().eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    try:
        from safetensors.torch import save_file  # noqa: F401

        save_file(model.state_dict(), os.path.join(FIXTURES, "lenet5.safetensors"), {"source": "pytorch"})
    except ImportError:
        save_safetensors(os.path.join(FIXTURES, "lenet5.safetensors"), model.state_dict(), {"source": "pytorch"})
    with open(os.path.join(FIXTURES, "lenet5_io.json"), "w") as f:
        json.dump({
            "torch": torch.__version__,
            "input_shape": list(x.shape),
            "input": x.flatten().tolist(),
            "logits": logits.tolist(),
        }, f)
        f.write("\n")
    print("params", sum(p.numel() for p in model.parameters()), "logits", logits[0, :3].tolist())


if __name__ == "__main__":
    main()
