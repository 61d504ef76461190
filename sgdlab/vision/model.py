"""A torchvision ResNet body with a new head for our classes, split into three layer groups.

The model is ``nn.Sequential(body=..., head=...)``:

* **body** — torchvision's ResNet without its average pool and 1000-way ``fc`` layer; it turns a
  (B, 3, H, W) image batch into (B, nf, H/32, W/32) feature maps (nf = 512 for resnet18/34).
* **head** — ``head="fastai"`` (the default), like fastai's::

      AdaptiveConcatPool2d → Flatten → BatchNorm1d(2·nf) → Dropout(0.25) → Linear(2·nf, 512)
      → ReLU → BatchNorm1d(512) → Dropout(0.5) → Linear(512, n_classes)

  where the concat pool stacks the max and the mean of each feature map (2·nf numbers); or
  ``head="linear"``: ``AdaptiveAvgPool2d(1) → Flatten → Linear(nf, n_classes)``, torchvision's own.

Layer groups (for freezing and discriminative learning rates):
``[stem, layer1, layer2]``, ``[layer3, layer4]``, ``[head]``. Early layers detect edges and
textures that every image task shares, so they get the smallest learning rate; the new head,
which starts from random numbers, gets the largest.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.schedules import lrs_for_groups  # noqa: F401 (re-exported: one source)

#: Architecture name → (torchvision constructor name, name of its ImageNet weights enum).
ARCHITECTURES = {
    "resnet18": ("resnet18", "ResNet18_Weights"),
    "resnet34": ("resnet34", "ResNet34_Weights"),
    "resnet50": ("resnet50", "ResNet50_Weights"),
}
HEADS = ("fastai", "linear")
BODY_GROUPS = (("conv1", "bn1", "relu", "maxpool", "layer1", "layer2"), ("layer3", "layer4"))
BATCHNORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)

#: ``None``, ``"imagenet"``, a torchvision weights enum, or a path to a local state dict.
Weights = Any


class AdaptiveConcatPool2d(nn.Module):
    """``cat([max over H×W, mean over H×W])``: (B, C, H, W) → (B, 2C, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1),
                          nn.functional.adaptive_avg_pool2d(x, 1)], dim=1)


def parse_weights(text: str | None, source: str = "weights") -> str | None:
    """Read a weights choice as a person writes it: ``none`` or nothing → ``None`` (random
    weights), ``imagenet`` (any case) → ``"imagenet"``, anything else → the path of a file
    holding the state dict of torchvision's ResNet (which must exist).

    ``source`` names where the text came from (``--weights``, ``SGDLAB_WEIGHTS``) in errors.
    """
    value = (text or "").strip()
    if value.lower() in ("", "none"):
        return None
    if value.lower() == "imagenet":
        return "imagenet"
    if not Path(value).is_file():
        raise SgdlabError(f"{source}={value}: no such file. Give a file holding the state dict "
                          f"of torchvision's resnet34, 'imagenet' (needs the network) or "
                          f"'none' to train from scratch")
    return value


def check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise SgdlabError(f"unknown architecture {arch!r}; choose one of "
                          f"{', '.join(ARCHITECTURES)} (the lecture uses resnet34)")


def _torchvision_resnet(arch: str, weights: Weights) -> nn.Module:
    """torchvision's ``arch`` with random, ImageNet (``"imagenet"``) or local-file weights."""
    import torchvision

    check_arch(arch)
    constructor_name, weights_enum_name = ARCHITECTURES[arch]
    constructor = getattr(torchvision.models, constructor_name)
    if weights is None:
        return constructor(weights=None)
    weights_enum = getattr(torchvision.models, weights_enum_name)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        weights = weights_enum.IMAGENET1K_V1
    if isinstance(weights, torchvision.models.WeightsEnum):
        if not isinstance(weights, weights_enum):
            raise SgdlabError(f"{weights} are not weights for {arch} (those are "
                              f"{weights_enum_name}); pass weights='imagenet' for the right ones")
        try:
            return constructor(weights=weights)
        except OSError as err:  # URLError, socket errors, ConnectionError
            raise SgdlabError(
                f"no network: could not download the ImageNet weights of {arch} ({err}); "
                f"pass weights=PATH to a local file holding the state dict of torchvision's "
                f"{arch}, or weights=None to start from random weights"
            ) from err
    model = constructor(weights=None)
    _load_body_file(model, Path(weights), arch)
    return model


def _load_body_file(model: nn.Module, path: Path, arch: str) -> None:
    """Load a state dict of torchvision's ``arch`` (its ``fc.*`` entries are ignored)."""
    how = (f"it must hold the state dict of torchvision's {arch}, e.g. "
           f"torch.save(torchvision.models.{arch}(weights=...).state_dict(), path)")
    if not path.is_file():
        raise SgdlabError(f"weights file {path} not found; {how}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise SgdlabError(f"could not read weights file {path} ({err}); {how}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SgdlabError(f"weights file {path} is not a state dict of tensors; {how}")
    body_state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    expected = {k for k in model.state_dict() if not k.startswith("fc.")}
    missing, unexpected = sorted(expected - body_state.keys()), sorted(body_state.keys() - expected)
    if missing or unexpected:
        raise SgdlabError(f"weights file {path} does not fit {arch}: {len(missing)} missing "
                          f"entries {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}; "
                          f"{how}")
    try:
        model.load_state_dict(body_state, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise SgdlabError(f"weights file {path} does not fit {arch}: {err}; {how}") from err


def create_body(arch: str = "resnet34", weights: Weights = None) -> nn.Sequential:
    """The ResNet up to its last feature maps (no pooling, no ``fc``); named children."""
    resnet = _torchvision_resnet(arch, weights)
    names = [name for group in BODY_GROUPS for name in group]
    return nn.Sequential(OrderedDict((name, getattr(resnet, name)) for name in names))


def body_features(arch: str) -> int:
    """Channels of the body's last feature maps: 512 for resnet18/34, 2048 for resnet50."""
    check_arch(arch)
    return 2048 if arch == "resnet50" else 512


def create_head(n_features: int, n_classes: int, kind: str = "fastai") -> nn.Sequential:
    """A new classifier head; see the module docstring for the two ``kind`` s."""
    if kind == "fastai":
        return nn.Sequential(
            AdaptiveConcatPool2d(), nn.Flatten(),
            nn.BatchNorm1d(2 * n_features), nn.Dropout(0.25), nn.Linear(2 * n_features, 512),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, n_classes),
        )
    if kind == "linear":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(n_features, n_classes))
    raise SgdlabError(f"unknown head {kind!r}; choose one of {', '.join(HEADS)}")


def create_model(n_classes: int, arch: str = "resnet34", weights: Weights = None,
                 head: str = "fastai", seed: int | None = None) -> nn.Sequential:
    """``nn.Sequential(body=create_body(arch, weights), head=create_head(...))``.

    Args:
        n_classes: outputs of the last layer (the number of bear species).
        arch: ``"resnet34"`` (default), ``"resnet18"`` (quicker) or ``"resnet50"``.
        weights: ``None`` (random, the default), ``"imagenet"`` (torchvision's
            ``IMAGENET1K_V1``, e.g. ``ResNet34_Weights.IMAGENET1K_V1``; needs the network once,
            then torch's cache), such a torchvision weights enum itself, or a path to a local
            state dict of torchvision's ``arch``.
        head: ``"fastai"`` or ``"linear"``.
        seed: makes the random initial weights repeatable. The weights are drawn inside
            ``torch.random.fork_rng``, so the caller's global random stream is left as it was.
    """
    check_whole_number(n_classes, "n_classes (a classifier needs at least 2 classes)", minimum=2,
                       hint="check that each class has its own folder")
    if head not in HEADS:
        raise SgdlabError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    check_arch(arch)
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
        body = create_body(arch, weights)
        model_head = create_head(body_features(arch), n_classes, head)
    return nn.Sequential(OrderedDict(body=body, head=model_head))


def layer_groups(model: nn.Module) -> list[list[nn.Module]]:
    """The three groups of a :func:`create_model` model; any other model is one group."""
    body, head = getattr(model, "body", None), getattr(model, "head", None)
    if body is None or head is None or not all(hasattr(body, n) for g in BODY_GROUPS for n in g):
        return [[model]]
    return [[getattr(body, name) for name in group] for group in BODY_GROUPS] + [[head]]


def group_parameters(model: nn.Module) -> list[list[nn.Parameter]]:
    """The parameters of each layer group, every parameter exactly once."""
    return [[p for module in group for p in module.parameters()] for group in layer_groups(model)]


def freeze_to(model: nn.Module, n: int) -> None:
    """Train only layer groups ``n, n+1, ...``; earlier groups keep their weights fixed.

    BatchNorm layers stay trainable everywhere (as in fastai): their few scale/shift numbers
    adapt the pretrained features to the new images' statistics at almost no cost.
    """
    groups = layer_groups(model)
    if n < 0:
        n += len(groups)
    for i, group in enumerate(groups):
        for module in (m for top in group for m in top.modules()):
            trainable = i >= n or isinstance(module, BATCHNORM_TYPES)
            for p in module.parameters(recurse=False):
                p.requires_grad_(trainable)


def freeze(model: nn.Module) -> None:
    """Train only the head (and the body's BatchNorm layers): ``freeze_to(model, -1)``."""
    freeze_to(model, -1)


def unfreeze(model: nn.Module) -> None:
    """Train every layer."""
    freeze_to(model, 0)


def check_fits_data(model: nn.Module, classes: list[str], dls: Any) -> None:
    """Raise unless ``model`` has one output per class and ``dls``'s labels index ``classes``."""
    n = len(classes)
    if n < 2:
        raise SgdlabError(f"a classifier needs at least 2 classes, got {n} ({classes}); put "
                          f"each class's images in its own folder")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if linears and linears[-1].out_features != n:
        raise SgdlabError(f"the model has {linears[-1].out_features} outputs but the data has "
                          f"{n} classes {classes}; build the model with n_classes={n}")
    for name in ("train_labels", "valid_labels"):
        labels = getattr(dls, name, None)
        if labels is None or len(labels) == 0:
            continue
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= n:
            raise SgdlabError(f"{name} run from {low} to {high} but there are only {n} classes "
                              f"(0..{n - 1})")
