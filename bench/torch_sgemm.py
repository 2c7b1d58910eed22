"""PyTorch CPU sgemm GFLOP/s, for bench/blas_bench.ts.

Usage: python3 bench/torch_sgemm.py [--threads N] SIZE...
Prints one JSON object: {"torch": version, "threads": n, "gflops": {size: GFLOP/s}}.
Each size runs torch.mm(a, b, out=c) on float32 [size, size] operands after a warm-up, repeating
until at least 0.5 s have passed (3 runs at least), and reports the fastest run (the least
disturbed by other load on a shared machine).
"""

import json
import sys
import time

import torch


def gflops(n: int) -> float:
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < 0.5:
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times) / 1e9


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--threads"]:
        torch.set_num_threads(int(args[1]))
        args = args[2:]
    sizes = [int(s) for s in args] or [256, 512, 1024, 2048]
    out = {str(n): gflops(n) for n in sizes}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "gflops": out}))


if __name__ == "__main__":
    main()
