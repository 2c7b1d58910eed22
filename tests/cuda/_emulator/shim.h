// Host emulation of the CUDA C subset denn's generated kernels use, for tests without a GPU
// (tests/cuda/emulated_test.ts). host_context.ts compiles each kernel source with g++ against this
// header, inside its own namespace, and calls it through Deno FFI.
//
// Execution model: blocks run one after another. A block of a kernel that never synchronises runs
// its threads one after another, each to completion. A block of a kernel that calls
// __syncthreads or a warp shuffle runs its blockDim.x threads as fibers on this one OS thread: a
// fiber runs until it reaches a barrier, and a barrier releases once every live thread of its
// scope (the block for __syncthreads, the 32-lane warp for shuffles) waits there; the fibers run
// in ascending and descending thread order on alternate rounds, so a missing barrier shows. A
// block whose threads wait at different barriers is reported as a deadlock (denn_emu_launch
// returns 1), as it would hang or be undefined on a device. Races that no in-order schedule
// exposes are not found. `__shared__` variables are function statics (shared by the block's
// threads; blocks do not overlap), `extern __shared__` arrays point at the launch's dynamic shared
// memory. Atomics need no atomicity: only one fiber runs at a time. float16 conversions use
// _Float16 (round to nearest even, as PTX cvt.rn.f16.f32 and cvt.f32.f16).
#ifndef DENN_EMU_SHIM_H
#define DENN_EMU_SHIM_H
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

struct denn_dim3 {
  unsigned int x, y, z;
};
// One OS thread runs every emulated thread, so these are plain globals; the scheduler sets
// threadIdx before it resumes a fiber.
static denn_dim3 threadIdx, blockIdx, blockDim, gridDim;
static unsigned char* denn_dyn = nullptr;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict

// ---------------------------------------------------------------- fibers
// A fiber starts on its own stack through makecontext/setcontext (once per launch) and then
// switches with _setjmp/_longjmp, which, unlike swapcontext, make no system call.
enum { DENN_RUN = 0, DENN_WAIT_BLOCK = 1, DENN_WAIT_WARP = 2, DENN_DONE = 3 };
struct denn_fiber {
  ucontext_t ctx;
  jmp_buf jb;
  int state;
  int started;
};
static const size_t DENN_STACK = 256 * 1024;
static denn_fiber* denn_fibers = nullptr;
static char* denn_stacks = nullptr;
static int denn_nfibers = 0, denn_cap = 0, denn_cur = 0;
static jmp_buf denn_sched;
static void (*denn_body)(const unsigned char*) = nullptr;
static const unsigned char* denn_args = nullptr;

// A fiber runs the kernel once per block: after each run it parks until the next block resumes it.
static void denn_fiber_main() {
  for (;;) {
    denn_body(denn_args);
    denn_fibers[denn_cur].state = DENN_DONE;
    if (!_setjmp(denn_fibers[denn_cur].jb)) _longjmp(denn_sched, 1);
  }
}

// Parks the running fiber at a barrier of `kind` and returns when the scheduler releases it. The
// memory clobbers keep the compiler from moving shared-memory accesses across the barrier.
__attribute__((noinline)) static void denn_wait(int kind) {
  asm volatile("" ::: "memory");
  if (denn_nfibers == 0) abort(); // a barrier in a kernel the emulator runs sequentially
  denn_fibers[denn_cur].state = kind;
  if (!_setjmp(denn_fibers[denn_cur].jb)) _longjmp(denn_sched, 1);
  asm volatile("" ::: "memory");
}

inline void __syncthreads() { denn_wait(DENN_WAIT_BLOCK); }
inline void __threadfence() { asm volatile("" ::: "memory"); }

static unsigned long long denn_xchg[1024];
template <class T>
T __shfl_down_sync(unsigned int, T v, int s) {
  unsigned long long w = 0;
  memcpy(&w, &v, sizeof(T));
  denn_xchg[threadIdx.x] = w;
  denn_wait(DENN_WAIT_WARP);
  T r = v;
  const unsigned int lane = threadIdx.x & 31u;
  if (s >= 0 && lane + (unsigned)s < 32u && threadIdx.x + (unsigned)s < blockDim.x) {
    memcpy(&r, &denn_xchg[threadIdx.x + s], sizeof(T));
  }
  denn_wait(DENN_WAIT_WARP);
  return r;
}

__attribute__((noinline)) static void denn_resume(int t) {
  denn_cur = t;
  threadIdx = {(unsigned)t, 0u, 0u};
  denn_fiber& f = denn_fibers[t];
  if (!_setjmp(denn_sched)) {
    if (!f.started) {
      f.started = 1;
      setcontext(&f.ctx);
    }
    _longjmp(f.jb, 1);
  }
}

// Runs one block of fibers; 0, or 1 on a deadlock (threads waiting at different barriers).
static int denn_run_block_fibers(int bx) {
  for (int t = 0; t < bx; t++) denn_fibers[t].state = DENN_RUN;
  // Rounds alternate between ascending and descending thread order, so a missing barrier shows
  // whichever side of it the threads' order would hide.
  for (int round = 0;; round++) {
    for (int k = 0; k < bx; k++) {
      const int t = (round & 1) ? bx - 1 - k : k;
      if (denn_fibers[t].state != DENN_RUN) continue;
      denn_resume(t);
    }
    int live = 0, atBlock = 0;
    bool released = false;
    for (int w = 0; w * 32 < bx; w++) {
      int wl = 0, ww = 0;
      for (int t = w * 32; t < bx && t < w * 32 + 32; t++) {
        const int s = denn_fibers[t].state;
        if (s != DENN_DONE) wl++;
        if (s == DENN_WAIT_WARP) ww++;
        if (s == DENN_WAIT_BLOCK) atBlock++;
      }
      live += wl;
      if (wl > 0 && ww == wl) {
        for (int t = w * 32; t < bx && t < w * 32 + 32; t++) denn_fibers[t].state = DENN_RUN;
        released = true;
      }
    }
    if (live == 0) return 0;
    if (released) continue;
    if (atBlock == live) {
      for (int t = 0; t < bx; t++) {
        if (denn_fibers[t].state == DENN_WAIT_BLOCK) denn_fibers[t].state = DENN_RUN;
      }
      continue;
    }
    return 1;
  }
}

// Runs a kernel body over the grid: `fibers` for kernels that synchronise. 0, 1 on a deadlock,
// 2 for a block size out of range.
static int denn_emu_launch(void (*body)(const unsigned char*), const unsigned char* args, int gx,
                           int bx, long long shared, int fibers) {
  if (bx < 1 || bx > 1024 || gx < 1) return 2;
  gridDim = {(unsigned)gx, 1u, 1u};
  blockDim = {(unsigned)bx, 1u, 1u};
  unsigned char* dyn = (unsigned char*)calloc((size_t)shared + 16, 1);
  denn_dyn = dyn;
  int rc = 0;
  if (!fibers) {
    for (int b = 0; b < gx; b++) {
      blockIdx = {(unsigned)b, 0u, 0u};
      for (int t = 0; t < bx; t++) {
        threadIdx = {(unsigned)t, 0u, 0u};
        body(args);
      }
    }
  } else {
    if (bx > denn_cap) {
      free(denn_fibers);
      free(denn_stacks);
      denn_fibers = (denn_fiber*)calloc((size_t)bx, sizeof(denn_fiber));
      denn_stacks = (char*)malloc((size_t)bx * DENN_STACK);
      denn_cap = bx;
    }
    denn_body = body;
    denn_args = args;
    denn_nfibers = bx;
    for (int t = 0; t < bx; t++) {
      denn_fiber& f = denn_fibers[t];
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = denn_stacks + (size_t)t * DENN_STACK;
      f.ctx.uc_stack.ss_size = DENN_STACK;
      f.ctx.uc_link = nullptr;
      makecontext(&f.ctx, denn_fiber_main, 0);
      f.started = 0;
    }
    for (int b = 0; b < gx && rc == 0; b++) {
      blockIdx = {(unsigned)b, 0u, 0u};
      rc = denn_run_block_fibers(bx);
    }
    denn_nfibers = 0;
  }
  free(dyn);
  denn_dyn = nullptr;
  return rc;
}

// ---------------------------------------------------------------- device functions
inline float __int_as_float(int i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline float __uint_as_float(unsigned int i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline unsigned int __float_as_uint(float f) {
  unsigned int u;
  memcpy(&u, &f, 4);
  return u;
}
inline int __float_as_int(float f) {
  int u;
  memcpy(&u, &f, 4);
  return u;
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline unsigned int atomicCAS(unsigned int* p, unsigned int c, unsigned int v) {
  const unsigned int o = *p;
  if (o == c) *p = v;
  return o;
}
template <class T, class U>
inline T atomicAdd(T* p, U v) {
  const T o = *p;
  *p = (T)(o + v);
  return o;
}
// CUDA's integer min/max overloads (the float ones are fminf/fmaxf).
template <class A, class B>
inline auto min(A a, B b) -> decltype(a + b) {
  return a < b ? a : b;
}
template <class A, class B>
inline auto max(A a, B b) -> decltype(a + b) {
  return a > b ? a : b;
}

// The bits of a float16 value and float, converted as the PRELUDE's PTX cvt instructions do.
inline float denn_emu_h2f(unsigned short h) {
  _Float16 t;
  memcpy(&t, &h, 2);
  return (float)t;
}
inline unsigned short denn_emu_f2h(float f) {
  const _Float16 t = (_Float16)f;
  unsigned short h;
  memcpy(&h, &t, 2);
  return h;
}

// A kernel argument from its 8-byte slot (little-endian, as host_context.ts packs them).
template <class T>
inline T denn_arg(const unsigned char* s, int k) {
  T v;
  memcpy(&v, s + 8 * k, sizeof(T));
  return v;
}
#endif
