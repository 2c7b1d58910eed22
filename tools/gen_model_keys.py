"""Writes tests/fixtures/models_torchvision.json: torchvision's state-dict keys, shapes and
parameter counts for the architectures in plugins/models (no weights).

    /usr/bin/python3 tools/gen_model_keys.py
"""

import json
import os

import torch
import torchvision.models as tvm

MODELS = {
    "alexnet": lambda: tvm.alexnet(),
    "vgg11": lambda: tvm.vgg11(),
    "vgg13": lambda: tvm.vgg13(),
    "vgg16": lambda: tvm.vgg16(),
    "vgg19": lambda: tvm.vgg19(),
    "vgg11_bn": lambda: tvm.vgg11_bn(),
    "vgg16_bn": lambda: tvm.vgg16_bn(),
    "googlenet": lambda: tvm.googlenet(aux_logits=True, init_weights=False),
    "googlenet_noaux": lambda: tvm.googlenet(aux_logits=False, init_weights=False),
    "resnet18": lambda: tvm.resnet18(),
    "resnet34": lambda: tvm.resnet34(),
    "resnet50": lambda: tvm.resnet50(),
    "resnet101": lambda: tvm.resnet101(),
    "resnet152": lambda: tvm.resnet152(),
}


def main():
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "models": {}}
    for name, build in MODELS.items():
        m = build()
        sd = m.state_dict()
        out["models"][name] = {
            "parameters": sum(p.numel() for p in m.parameters()),
            "keys": [[k, list(v.shape)] for k, v in sd.items()],
        }
        print(name, out["models"][name]["parameters"], len(sd))
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "models_torchvision.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
