"""Do the CPU and the GPU train the bear classifier alike? Same seed, same batches, a few steps.

Two copies of one model (same initial weights, drawn once on the CPU) take the same optimizer
steps (sgdlab.SGD, momentum 0.9, weight decay 1e-4) on the same mini-batches, one copy per
device, in lockstep. After every step we compare

* the loss each device computed before its step: ``|L_a − L_b|`` and ``|L_a − L_b| / |L_a|``;
* the weights after the step: ``max |w_a − w_b|`` over all parameters, and the relative
  difference ``‖w_a − w_b‖ / ‖w_a‖``.

Modes (the second device is the one that changes; the first is the float32 reference):

* ``float32``: plain float32 everywhere; on CUDA with TF32 switched off for matrix products and
  convolutions, so only the order of the arithmetic differs;
* ``tf32``: CUDA's default for convolutions (TF32, a 10-bit mantissa, inside cuDNN);
* ``bf16``: the learner's GPU setting, bfloat16 autocast (8-bit mantissa) with channels_last.

Differences grow with the steps: every step starts from slightly different weights. The head
is the linear one (no dropout), so no random numbers are drawn while training.

Run: ``python benchmarks/cpu_gpu_agreement.py [--devices cpu cuda] [--steps 5] [--size 64]``;
``--devices cpu cpu`` is a sanity check (all differences 0). Without a GPU there is nothing to
compare and the script says so.
"""

from __future__ import annotations

import argparse
import copy
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.nn import functional as F

import sgdlab
from sgdlab.vision.model import create_model, group_parameters

NO_CUDA = "no CUDA device: nothing to compare"


def make_batches(steps: int, batch_size: int, size: int, seed: int,
                 data: Path | None) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int, str]:
    """``steps`` CPU batches: the bear photos' first training batches if ``data`` is given,
    else seeded random images; also the number of classes and where the batches came from."""
    if data is not None:
        from sgdlab.vision.data import ImageDataLoaders

        dls = ImageDataLoaders.from_folder(data, size=size, batch_size=batch_size,
                                           device="cpu", seed=seed)
        batches: list[tuple[torch.Tensor, torch.Tensor]] = []
        while len(batches) < steps:
            batches += list(dls.train)
        return batches[:steps], len(dls.classes), f"photos in {data}"
    generator = torch.Generator().manual_seed(seed)
    batches = [(torch.randn(batch_size, 3, size, size, generator=generator),
                torch.randint(0, 3, (batch_size,), generator=generator)) for _ in range(steps)]
    return batches, 3, "random images"


class Side:
    """One device's copy of the model and optimizer, and how it computes."""

    def __init__(self, model: torch.nn.Module, device: torch.device, mode: str, lr: float):
        self.device, self.mode = device, mode
        self.layout = torch.channels_last if mode == "bf16" else torch.contiguous_format
        self.model = copy.deepcopy(model).to(device, memory_format=self.layout)
        self.model.train()
        self.opt = sgdlab.SGD([{"params": ps} for ps in group_parameters(self.model)], lr=lr,
                              momentum=0.9, weight_decay=1e-4)

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> float:
        xb = xb.to(self.device, memory_format=self.layout)
        yb = yb.to(self.device)
        context = (torch.autocast(device_type="cuda", dtype=torch.bfloat16)
                   if self.mode == "bf16" else nullcontext())
        with context:
            logits = self.model(xb)
        loss = F.cross_entropy(logits.float(), yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return loss.item()

    def weights(self) -> torch.Tensor:
        return torch.cat([p.detach().float().cpu().flatten() for p in self.model.parameters()])


def set_tf32(enabled: bool) -> None:
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def compare(devices: tuple[torch.device, torch.device], mode: str, args: argparse.Namespace,
            batches: list, n_classes: int) -> list[dict[str, float]]:
    """Train both sides in lockstep; one row of differences per step."""
    set_tf32(mode == "tf32")
    model = create_model(n_classes, args.arch, head="linear", seed=args.seed)
    first = Side(model, devices[0], "float32", args.lr)
    second = Side(model, devices[1], mode, args.lr)
    rows = []
    for xb, yb in batches:
        loss_a, loss_b = first.step(xb, yb), second.step(xb, yb)
        w_a, w_b = first.weights(), second.weights()
        rows.append({"loss_a": loss_a, "loss_b": loss_b, "loss_abs": abs(loss_a - loss_b),
                     "loss_rel": abs(loss_a - loss_b) / max(abs(loss_a), 1e-30),
                     "weight_abs": (w_a - w_b).abs().max().item(),
                     "weight_rel": ((w_a - w_b).norm() / w_a.norm()).item()})
    set_tf32(False)
    return rows


def modes_for(devices: tuple[torch.device, torch.device]) -> list[str]:
    if devices[1].type != "cuda":
        return ["float32"]
    modes = ["float32", "tf32"]
    if torch.cuda.is_bf16_supported():
        modes.append("bf16")
    return modes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs=2, default=["cpu", "cuda"], metavar=("A", "B"),
                        help="the reference device and the one compared with it "
                             "(default: cpu cuda)")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps (default 5)")
    parser.add_argument("--size", type=int, default=64, help="image side (default 64)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--arch", default="resnet18", help="default resnet18")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None,
                        help="train on the first batches of these photos (default: random "
                             "images; with --data the bear photos, e.g. ../shared/bears)")
    args = parser.parse_args(argv)
    devices = tuple(torch.device(d) for d in args.devices)
    if any(d.type == "cuda" for d in devices) and not torch.cuda.is_available():
        print(NO_CUDA)
        return 0
    if any(d.type == "cuda" for d in devices):
        torch.backends.cudnn.deterministic = True  # the same kernels on every run
    batches, n_classes, source = make_batches(args.steps, args.batch_size, args.size, args.seed,
                                              args.data)
    print(f"{args.arch}, {args.size} px, batches of {args.batch_size} {source}, "
          f"{args.steps} steps of sgdlab.SGD(lr={args.lr:g}, momentum=0.9, wd=1e-4); "
          f"{devices[0]} (float32) against {devices[1]}")
    for mode in modes_for(devices):
        rows = compare(devices, mode, args, batches, n_classes)
        print(f"\n[{mode}] step  loss {devices[0]}  loss {devices[1]}  |dL|       |dL|/L     "
              f"max|dw|    |dw|/|w|")
        for i, r in enumerate(rows, start=1):
            print(f"{'':>{len(mode) + 3}}{i:4d}  {r['loss_a']:9.6f}  {r['loss_b']:9.6f}  "
                  f"{r['loss_abs']:.2e}  {r['loss_rel']:.2e}  {r['weight_abs']:.2e}  "
                  f"{r['weight_rel']:.2e}")
        worst = max(rows, key=lambda r: r["loss_rel"])
        print(f"{'':>{len(mode) + 3}}largest relative loss difference {worst['loss_rel']:.2e}, "
              f"relative weight difference after the last step {rows[-1]['weight_rel']:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
