"""Compares denn's outcomes on the fuzz cases of tools/safetensors_fuzz_dump.ts with the reference
implementation of safetensors (the Rust crate, through the Python `safetensors` package).

    deno run --allow-read --allow-write tools/safetensors_fuzz_dump.ts /tmp/fz 10
    python3 tools/check_safetensors_fuzz.py /tmp/fz

Every file denn reads must be read by the reference with identical data (after denn's documented
conversions: BF16 and F64 to float32, I64 to int32). Every file denn rejects while the reference
reads it must fall under one of denn's documented stricter rules (see the module documentation of
plugins/train/safetensors.ts). Exits 1 otherwise.
"""

import collections
import json
import math
import struct
import sys

from safetensors import deserialize

STRICTER = {
    "duplicate key": "duplicate key",
    "unknown field": "unknown field in a tensor entry",
    "__metadata__ must be": "__metadata__ not an object of strings (e.g. null)",
    "unsupported dtype": "dtype denn does not read",
    "BOOL byte": "BOOL byte other than 0/1",
    "does not fit int32": "I64 outside int32",
    "overflows float32": "F64 overflowing float32",
}


def converted(dtype, raw):
    if dtype in ("F32", "F16", "I32", "BOOL"):
        return bytes(raw)
    if dtype == "BF16":
        return b"".join(b"\0\0" + raw[i:i + 2] for i in range(0, len(raw), 2))
    if dtype == "I64":
        vals = struct.unpack(f"<{len(raw) // 8}q", bytes(raw))
        return struct.pack(f"<{len(vals)}i", *vals)
    if dtype == "F64":
        vals = struct.unpack(f"<{len(raw) // 8}d", bytes(raw))
        return struct.pack(f"<{len(vals)}f", *vals)
    raise ValueError(dtype)


def same_f32(a, b):
    x = struct.unpack(f"<{len(a) // 4}f", a)
    y = struct.unpack(f"<{len(b) // 4}f", b)
    return all((math.isnan(p) and math.isnan(q)) or p == q and math.copysign(1, p) == math.copysign(1, q) for p, q in zip(x, y))


def main(out):
    cases = json.load(open(f"{out}/denn.json"))
    table = collections.Counter()
    failures = []
    tensors = 0
    for c in cases:
        data = open(f"{out}/cases/{c['id']}.safetensors", "rb").read()
        try:
            ref = dict(deserialize(data))
        except Exception:
            ref = None
        if c["denn"] == "ok":
            if ref is None:
                failures.append((c["id"], "denn reads a file the reference rejects"))
                continue
            if set(ref) != set(c["tensors"]):
                failures.append((c["id"], "tensor names differ"))
                continue
            for name, t in ref.items():
                mine = c["tensors"][name]
                expect = converted(t["dtype"], t["data"])
                got = bytes.fromhex(mine["hex"])
                ok = list(t["shape"]) == mine["shape"] and (
                    got == expect or (t["dtype"] == "F64" and same_f32(got, expect)))
                tensors += 1
                if not ok:
                    failures.append((c["id"], f"tensor {name} differs"))
            table["both read, identical data"] += 1
        elif ref is None:
            table["both reject"] += 1
        else:
            rule = next((v for k, v in STRICTER.items() if k in c["message"]), None)
            if rule is None:
                failures.append((c["id"], f"denn rejects a file the reference reads: {c['message']}"))
            else:
                table[f"denn stricter: {rule}"] += 1
    print(f"{len(cases)} cases, {tensors} tensors compared")
    for k, n in sorted(table.items()):
        print(f"  {n:6}  {k}")
    for f in failures[:20]:
        print("FAIL", *f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
