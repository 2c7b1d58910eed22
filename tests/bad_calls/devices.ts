/**
 * The "devices/dispose" group of the bad-call catalogue (./mod.ts): disposed tensors and mixed or
 * unknown devices.
 *
 * @module
 */

import {
  cat,
  DeviceError,
  DisposedError,
  F,
  nn,
  ones,
  optim,
  scope,
  tensor,
  where,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { bad, disposed, f32, i32, leaf, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const devicesCases: Omit<BadCall, "group">[] = [
  {
    name: "add on a disposed tensor",
    run: (d) => disposed(d).add(1),
    error: DisposedError,
    message: /add: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "add of a disposed operand",
    run: (d) => f32(d, [1, 2, 3]).add(disposed(d)),
    error: DisposedError,
    message: /add: input 1 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "toArray of a disposed tensor",
    run: (d) => disposed(d).toArray(),
    error: DisposedError,
    message: /data: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "data of a disposed tensor",
    run: (d) => disposed(d).data(),
    error: DisposedError,
    message: /data: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "detach of a disposed tensor",
    run: (d) => disposed(d).detach(),
    error: DisposedError,
    message: /detach: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "reshape of a disposed tensor",
    run: (d) => disposed(d).reshape(3, 1),
    error: DisposedError,
    message: /reshape: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "matmul with a disposed tensor",
    run: (d) => disposed(d).matmul(f32(d, [1, 2, 3])),
    error: DisposedError,
    message: /reshape: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "sum of a disposed tensor",
    run: (d) => disposed(d).sum(),
    error: DisposedError,
    message: /sum: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "clone of a disposed tensor",
    run: (d) => disposed(d).clone(),
    error: DisposedError,
    message: /copy: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "to('cpu') of a disposed webgpu tensor",
    run: (d) => disposed(d).to("cpu"),
    error: DisposedError,
    message: "to: the [3] float32 tensor on webgpu was disposed",
    devices: ["webgpu"],
  },
  {
    name: "cast of a disposed tensor",
    run: (d) => disposed(d).cast("int32"),
    error: DisposedError,
    message: /cast: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "narrow of a disposed tensor",
    run: (d) => disposed(d).narrow(0, 0, 1),
    error: DisposedError,
    message: /slice: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "cat with a disposed tensor",
    run: (d) => cat([f32(d, [1]), disposed(d)]),
    error: DisposedError,
    message: /cat: input 1 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "a tensor used after its scope ended",
    run: (d) => {
      let t: Tensor | null = null;
      scope(() => {
        t = f32(d, [1, 2]).mul(2);
        return null;
      });
      return t!.add(1);
    },
    error: DisposedError,
    message:
      "add: input 0 ([2] float32 on webgpu) was disposed (by dispose(), a scope(), or zeroGrad() for a gradient) and",
    devices: ["webgpu"],
  },
  {
    name: "forward of a layer whose weight was disposed",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      m.weight.dispose();
      return m.forward(ones([1, 2], { device: d }));
    },
    error: DisposedError,
    message: /matmul: input 1 \(\[2, 2\] float32 on \w+\) was disposed/,
  },
  {
    name: "optimizer step on a disposed parameter",
    run: (d) => {
      const w = leaf(d);
      w.mul(w).sum().backward();
      const o = new optim.SGD([w], { lr: 0.1 });
      w.dispose();
      o.step();
      return w;
    },
    error: DisposedError,
    message: /sgdUpdate(Foreach)?: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "x.to('cuda')",
    run: (d) => f32(d, [1]).to("cuda"),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "x.to('gpu')",
    run: (d) => f32(d, [1]).to("gpu"),
    error: DeviceError,
    message: 'device "gpu" is not available',
  },
  {
    name: "x.to(0) (a device index)",
    run: (d) => f32(d, [1]).to(bad(0)),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got 0",
  },
  {
    name: "x.to(null)",
    run: (d) => f32(d, [1]).to(bad(null)),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got null",
  },
  {
    name: "x.to with an options object",
    run: (d) => f32(d, [1]).to(bad({ device: "cpu" })),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got Object",
  },
  {
    name: "toAsync('cuda')",
    run: (d) => f32(d, [1]).toAsync("cuda"),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "add of a webgpu and a cpu tensor",
    run: (d) => f32(d, [1, 2]).add(f32("cpu", [1, 2])),
    error: DeviceError,
    message:
      "add: inputs are on different devices (input 0 [2] on webgpu, input 1 [2] on cpu); move them with .to(device)",
    devices: ["webgpu"],
  },
  {
    name: "matmul of a cpu and a webgpu tensor",
    run: (d) => m23("cpu").matmul(ones([3, 2], { device: d })),
    error: DeviceError,
    message:
      "matmul: inputs are on different devices (input 0 [2, 3] on cpu, input 1 [3, 2] on webgpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "cat of webgpu and cpu tensors",
    run: (d) => cat([f32(d, [1]), f32("cpu", [2])]),
    error: DeviceError,
    message:
      "cat: inputs are on different devices (input 0 [1] on webgpu, input 1 [1] on cpu); move them with .to(device)",
    devices: ["webgpu"],
  },
  {
    name: "crossEntropy with a cpu target for webgpu logits",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32("cpu", [0, 1])),
    error: DeviceError,
    message:
      "gather: inputs are on different devices (input 0 [2, 3] on webgpu, input 1 [2, 1] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "gather with a cpu index",
    run: (d) => m23(d).gather(1, i32("cpu", [[0], [1]])),
    error: DeviceError,
    message:
      "gather: inputs are on different devices (input 0 [2, 3] on webgpu, input 1 [2, 1] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "where with a cpu condition",
    run: (d) => where(tensor([true, false], { device: "cpu" }), f32(d, [1, 2]), f32(d, [3, 4])),
    error: DeviceError,
    message:
      "where: inputs are on different devices (input 0 [2] on cpu, input 1 [2] on webgpu, input 2 [2] on webgpu)",
    devices: ["webgpu"],
  },
  {
    name: "cpu Linear forward of a webgpu input",
    run: (d) => new nn.Linear(2, 2).forward(ones([1, 2], { device: d })),
    error: DeviceError,
    message:
      "matmul: inputs are on different devices (input 0 [1, 2] on webgpu, input 1 [2, 2] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "dataSync on webgpu",
    run: (d) => f32(d, [1]).dataSync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
  {
    name: "itemSync on webgpu",
    run: (d) => f32(d, [1]).itemSync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
  {
    name: "toArraySync on webgpu",
    run: (d) => f32(d, [1]).toArraySync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
];
