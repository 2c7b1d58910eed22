#!/usr/bin/env bash
# The one prepared script for a device machine (see docs/GPU.md): runs the cuda test suite
# (`deno task test:gpu`) on a real GPU and writes the results under $OUT.
#
# Prepare here (the device machine has no Deno and no network):
#   mkdir -p .deno && xz -T2 -6 -c "$(command -v deno)" > .deno/deno.xz
#   DENO_DIR=.deno/cache deno cache mod.ts tests/cuda/*_test.ts
#   grep -qx '.deno/' .git/info/exclude || echo '.deno/' >> .git/info/exclude
# then run it with the device tool: command `bash tools/gpu_check.sh`, carry [".deno"],
# timeout_s about 300 (a rerun must still fit the session's device time).
#
# Results in $OUT: env.txt (driver, GPU, libraries found), test_gpu.txt (the test output),
# rc (the test exit status), cache.txt (the kernel cache folder after the run).
set -u
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

D=$(mktemp -d)
xz -dc .deno/deno.xz > "$D/deno" && chmod +x "$D/deno" ||
  { echo "no .deno/deno.xz carried" >&2; echo 2 > "$OUT/rc"; exit 2; }
export PATH="$D:$PATH" DENO_DIR=.deno/cache DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

# cuDNN's shim loads its sub-libraries by name: its folder goes on LD_LIBRARY_PATH. The NVRTC and
# cuBLAS wheels' folder is found by the runtime's own search; listed here for the record.
for sp in /opt/*/.venv/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages \
  /usr/lib/python3*/site-packages /usr/lib/python3/dist-packages; do
  if [ -d "$sp/nvidia/cudnn/lib" ]; then
    export LD_LIBRARY_PATH="$sp/nvidia/cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    break
  fi
done

# A fresh kernel cache, so the disk-cache test starts cold and its files can be listed.
export DENN_CUDA_CACHE="$D/cuda-cache"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "deno: $(deno --version | head -1)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so\.1|libnvrtc|libcublas|libcudnn\.so' || true
  ls /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib 2>/dev/null | head -20
} > "$OUT/env.txt" 2>&1

timeout 480 deno task test:gpu > "$OUT/test_gpu.txt" 2>&1
rc=$?
echo "$rc" > "$OUT/rc"
ls -la "$DENN_CUDA_CACHE" > "$OUT/cache.txt" 2>&1
tail -40 "$OUT/test_gpu.txt"
exit "$rc"
