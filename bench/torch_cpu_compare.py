"""PyTorch CPU side of bench/cpu_compare.ts: one workload, timed one step at a time.

Usage: /usr/bin/python3 bench/torch_cpu_compare.py WORKLOAD --warmup N [--steps N] [--serve]
         [--threads N]

WORKLOAD is one of
  lenet      LeNet-5 (ReLU, max pooling, conv1 padding 2) on [64, 1, 28, 28]
  resnet18   torchvision's ResNet-18 with 10 classes on [32, 3, 32, 32]
  mlp        Linear 784-512, ReLU, Linear 512-512, ReLU, Linear 512-10 on [128, 784]
  sgemm512, sgemm1024, sgemm2048   torch.mm of two float32 [n, n] matrices
  googlenet  torchvision's GoogLeNet (no auxiliary classifiers) on [16, 3, 64, 64]
  resnet50   torchvision's ResNet-50 on [16, 3, 32, 32]
  alexnet    torchvision's AlexNet on [16, 3, 64, 64]
  vgg11bn    torchvision's VGG-11 with batch norm on [16, 3, 32, 32]
(all with 10 classes)
The training workloads run zero_grad, forward, cross-entropy, backward and an SGD step (lr 0.01,
momentum 0.9) on fixed random data, in train mode, like denn's side.

The thread count is torch.get_num_threads() as PyTorch sets it, unless --threads is given.
Prints one JSON line: {"torch": version, "threads": n, "workload": name, "times_ms": [...]}, one
time per step after the warm-up steps (no aggregation: bench/cpu_compare.ts takes the median).

With --serve (how bench/cpu_compare.ts runs it) the process prints {"ready": true, "torch": ...,
"threads": n} after the warm-up and then answers each line "K LEAD" on stdin (untimed steps for LEAD ms,
at least one, then the line {"timing": true}, K timed steps and the line {"times_ms": [...]}),
until stdin closes: the benchmark runs its sides in
turns, a block at a time, so that the host's slow and fast stretches fall on all of them alike.
"""

import argparse
import json
import sys
import time

import torch
import torch.nn as nn

SGEMM = {"sgemm512": 512, "sgemm1024": 1024, "sgemm2048": 2048}
MODELS = {
    "googlenet": ([16, 3, 64, 64], lambda tv: tv.googlenet(num_classes=10, aux_logits=False, init_weights=True)),
    "resnet50": ([16, 3, 32, 32], lambda tv: tv.resnet50(num_classes=10)),
    "alexnet": ([16, 3, 64, 64], lambda tv: tv.alexnet(num_classes=10)),
    "vgg11bn": ([16, 3, 32, 32], lambda tv: tv.vgg11_bn(num_classes=10)),
}
WORKLOADS = ["lenet", "resnet18", "mlp", *SGEMM, *MODELS]


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def resnet18() -> nn.Module:
    import torchvision  # Debian's python3-torchvision; only this workload needs it

    return torchvision.models.resnet18(num_classes=10)


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def train_step(model: nn.Module, input_shape: list):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(*input_shape)
    y = torch.randint(0, 10, (input_shape[0],))

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def sgemm_step(n: int):
    a = torch.randn(n, n)
    b = torch.randn(n, n)

    def step() -> None:
        torch.mm(a, b)

    return step


def make_step(workload: str):
    if workload == "lenet":
        return train_step(lenet(), [64, 1, 28, 28])
    if workload == "resnet18":
        return train_step(resnet18(), [32, 3, 32, 32])
    if workload == "mlp":
        return train_step(mlp(), [128, 784])
    if workload in MODELS:
        import torchvision

        shape, build = MODELS[workload]
        return train_step(build(torchvision.models), shape)
    return sgemm_step(SGEMM[workload])


def count(minimum: int):
    def parse(text: str) -> int:
        n = int(text)
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {n}")
        return n

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--steps", type=count(1))
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--warmup", type=count(0), required=True)
    parser.add_argument("--threads", type=count(1))
    args = parser.parse_args()
    if args.serve == (args.steps is not None):
        parser.error("give exactly one of --steps and --serve")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    step = make_step(args.workload)
    for _ in range(args.warmup):
        step()
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "workload": args.workload}
    if not args.serve:
        print(json.dumps({**info, "times_ms": timed(step, args.steps)}))
        return
    print(json.dumps({**info, "ready": True}), flush=True)
    for line in sys.stdin:
        k, lead = (int(x) for x in line.split())
        end = time.perf_counter() + lead / 1000
        step()
        while time.perf_counter() < end:
            step()
        print(json.dumps({"timing": True}), flush=True)
        print(json.dumps({"times_ms": timed(step, k)}), flush=True)


def timed(step, steps: int) -> list:
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return times


if __name__ == "__main__":
    main()
