"""The GPU path: the real data pipeline, the Learner, lr_find and checkpoints on a CUDA device.

CI has no GPU, so these tests skip there; they run on a machine with one (see
``benchmarks/README.md``, "On a lent GPU"). ``SGDLAB_TEST_DEVICE=cpu`` runs the same tests on the
CPU, which checks the tests themselves on a machine without a GPU. On CUDA the learner trains in
bf16 autocast with channels_last, so comparisons with float32 CPU results use bf16 tolerances.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.data import ImageDataLoaders
from sgdlab.vision.device import HostScalar, autocast, memory_format
from sgdlab.vision.learner import vision_learner

from .fakes import write_fake_bears

DEVICE = torch.device(os.environ.get("SGDLAB_TEST_DEVICE", "cuda"))

pytestmark = pytest.mark.skipif(
    DEVICE.type == "cuda" and not torch.cuda.is_available(),
    reason="needs a CUDA GPU (CI has none); set SGDLAB_TEST_DEVICE=cpu to run these on the CPU")

@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_fake_bears(tmp_path_factory.mktemp("cuda") / "bears", per_class=10, seed=0,
                            shape=(40, 48))


def loaders(folder: Path, device: torch.device | str, **kwargs) -> ImageDataLoaders:
    kwargs.setdefault("batch_size", 8)
    return ImageDataLoaders.from_folder(folder, size=32, device=device, **kwargs)


def learner(folder: Path, tmp_path: Path, **kwargs):
    return vision_learner(loaders(folder, DEVICE, **kwargs), "resnet18", seed=0,
                          progress=False, log=lambda line: None, model_dir=tmp_path / "models")


def test_batches_live_on_the_device_and_validation_matches_the_cpu(folder):
    on_device, on_cpu = loaders(folder, DEVICE), loaders(folder, "cpu")
    xb, yb = next(iter(on_device.train))
    assert xb.device.type == DEVICE.type and yb.device.type == DEVICE.type
    assert xb.shape == (8, 3, 32, 32) and xb.dtype == torch.float32
    assert torch.isfinite(xb).all()
    for (xd, yd), (xc, yc) in zip(on_device.valid, on_cpu.valid, strict=True):
        assert torch.equal(yd.cpu(), yc)
        torch.testing.assert_close(xd.cpu(), xc, atol=1e-5, rtol=0)


def test_training_on_the_device_overfits_the_training_images(folder, tmp_path):
    # all 24 training images in one batch, not augmented: 8 steps must learn them
    learn = learner(folder, tmp_path, batch_size=24, augment=False)
    assert all(p.device.type == DEVICE.type for p in learn.model.parameters())
    if DEVICE.type == "cuda":
        assert learn.model.body.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    learn.fit(8, lr=1e-2)
    losses = learn.recorder.losses
    assert len(losses) == 8 and all(np.isfinite(losses))
    assert losses[-1] < 0.25 * losses[0], losses


def test_autocast_computes_in_bf16_on_a_capable_gpu():
    x = torch.ones(4, 4, device=DEVICE)
    with autocast(DEVICE):
        product = x @ x
    expected = (torch.bfloat16 if DEVICE.type == "cuda" and torch.cuda.is_bf16_supported()
                else torch.float32)
    assert product.dtype == expected
    assert memory_format(DEVICE) == (torch.channels_last if DEVICE.type == "cuda"
                                     else torch.contiguous_format)


def test_lr_find_on_the_device_restores_the_weights(folder, tmp_path):
    learn = learner(folder, tmp_path)
    before = {k: v.detach().clone() for k, v in learn.model.state_dict().items()}
    learn.lr_find(num_it=12)
    after = learn.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_model_trained_on_the_device_predicts_alike_on_the_cpu(folder, tmp_path):
    learn = learner(folder, tmp_path)
    learn.fit_one_cycle(2, 1e-2)
    path = learn.save("tiny")
    on_cpu = load_learner(path)
    assert all(p.device.type == "cpu" for p in on_cpu.model.parameters())
    for image in sorted(folder.glob("*/00000000.jpg")):
        name, index, probs = learn.predict(image)
        cpu_name, cpu_index, cpu_probs = on_cpu.predict(image)
        assert probs.device.type == "cpu"
        # bf16 autocast on the GPU keeps about 3 significant digits
        torch.testing.assert_close(probs, cpu_probs, atol=0.03, rtol=0)
        if abs(float(probs.max() - probs.topk(2).values[1])) > 0.1:
            assert (name, index) == (cpu_name, cpu_index)


def test_host_scalar_holds_the_value_it_was_given():
    x = torch.tensor([1.25, 3.0], device=DEVICE)
    values = [HostScalar(x.sum()), HostScalar(x[0] * 2)]
    x.add_(100.0)  # later work on the device does not change what was taken
    assert [v.get() for v in values] == [4.25, 2.5]
    assert values[0].get() == 4.25  # reading twice gives the same number
