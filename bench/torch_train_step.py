"""PyTorch CPU training-step timings for bench/train_step_compare.ts.

Usage: /usr/bin/python3 bench/torch_train_step.py MODEL BATCH SIZE STEPS
MODEL is lenet or resnet18; prints milliseconds per step (best of three timed rounds).
"""
import sys
import time

import torch
import torch.nn as nn

model_name, batch, size, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
if model_name == "lenet":
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    channels = 1
else:
    import torchvision
    model = torchvision.models.resnet18(num_classes=10)
    channels = 3
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(batch, channels, size, size)
y = torch.randint(0, 10, (batch,))
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    for _ in range(steps):
        step()
    best = min(best, (time.perf_counter() - t) * 1000 / steps)
print(f"{best:.3f} {torch.get_num_threads()} {torch.__version__}")
