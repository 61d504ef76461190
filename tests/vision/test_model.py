"""The ResNet body + head, its layer groups, freezing, per-group learning rates and weights."""

from __future__ import annotations

import math
import urllib.error

import pytest
import torch
import torchvision
from torch import nn

from sgdlab.errors import SgdlabError
from sgdlab.vision import model as vm


@pytest.fixture(scope="module")
def resnet34_model() -> nn.Module:
    return vm.create_model(3, seed=0)


def test_default_is_resnet34_with_21_million_body_weights(resnet34_model) -> None:
    reference = torchvision.models.resnet34(weights=None)
    expected = sum(p.numel() for n, p in reference.named_parameters() if not n.startswith("fc."))
    assert expected == 21_284_672
    assert sum(p.numel() for p in resnet34_model.body.parameters()) == expected
    resnet34_model.eval()
    with torch.no_grad():
        assert resnet34_model(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_fastai_head_layers_in_order(resnet34_model) -> None:
    kinds = [type(m) for m in resnet34_model.head]
    assert kinds == [vm.AdaptiveConcatPool2d, nn.Flatten, nn.BatchNorm1d, nn.Dropout, nn.Linear,
                     nn.ReLU, nn.BatchNorm1d, nn.Dropout, nn.Linear]
    assert resnet34_model.head[4].in_features == 1024      # max and mean of 512 maps
    assert resnet34_model.head[-1].out_features == 3
    linear = vm.create_model(5, arch="resnet18", head="linear")
    assert [type(m) for m in linear.head] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
    assert linear.head[-1].out_features == 5


def test_concat_pool_is_max_then_mean() -> None:
    x = torch.arange(8.0).view(1, 2, 2, 2)
    assert vm.AdaptiveConcatPool2d()(x).flatten().tolist() == [3.0, 7.0, 1.5, 5.5]


def test_layer_groups_cover_every_parameter_once(resnet34_model) -> None:
    groups = vm.group_parameters(resnet34_model)
    assert len(groups) == 3
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(resnet34_model.parameters()))
    body = resnet34_model.body
    assert {id(p) for p in body.conv1.parameters()} <= {id(p) for p in groups[0]}
    assert {id(p) for p in body.layer2.parameters()} <= {id(p) for p in groups[0]}
    assert {id(p) for p in body.layer3.parameters()} <= {id(p) for p in groups[1]}
    assert {id(p) for p in body.layer4.parameters()} <= {id(p) for p in groups[1]}
    assert [id(p) for p in groups[2]] == [id(p) for p in resnet34_model.head.parameters()]
    assert len(vm.layer_groups(nn.Linear(3, 2))) == 1


def _flags(model: nn.Module) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in model.named_parameters()}


def test_freeze_trains_head_and_body_batchnorm_only(resnet34_model) -> None:
    bn_params = {f"{name}.{p}" for name, m in resnet34_model.named_modules()
                 if isinstance(m, nn.BatchNorm2d) for p in ("weight", "bias")}
    assert len(bn_params) == 2 * 36                          # resnet34 has 36 BatchNorm2d
    vm.freeze(resnet34_model)
    flags = _flags(resnet34_model)
    expected = {name: name.startswith("head.") or name in bn_params for name in flags}
    assert flags == expected
    assert sum(not f for f in flags.values()) == 36   # convs: stem, 16 blocks × 2, 3 downsample
    vm.freeze_to(resnet34_model, 1)
    flags = _flags(resnet34_model)
    assert flags["body.layer3.0.conv1.weight"] and not flags["body.layer2.0.conv1.weight"]
    assert flags["body.layer2.0.bn1.weight"]
    vm.unfreeze(resnet34_model)
    assert all(_flags(resnet34_model).values())


def test_lrs_for_groups_follow_the_slice() -> None:
    lo, hi = 3e-5, 3e-4
    assert vm.lrs_for_groups(slice(lo, hi), 3) == pytest.approx([lo, math.sqrt(lo * hi), hi])
    assert vm.lrs_for_groups(slice(hi), 3) == pytest.approx([hi / 10, hi / 10, hi])
    assert vm.lrs_for_groups(1e-3, 3) == [1e-3] * 3
    assert vm.lrs_for_groups([1e-5, 1e-4, 1e-3], 3) == [1e-5, 1e-4, 1e-3]
    four = vm.lrs_for_groups(slice(1e-6, 1e-3), 4)
    assert four == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3])
    assert vm.lrs_for_groups(slice(1e-5, 1e-3), 1) == [1e-3]


@pytest.mark.parametrize("lr", [0.0, -1e-3, math.nan, math.inf, slice(1e-3, 1e-5),
                                slice(0.0, 1e-3), slice(1e-5, 1e-3, 2), [1e-3, 1e-3], "0.1",
                                slice(None)])
def test_bad_learning_rates_raise(lr) -> None:
    with pytest.raises(SgdlabError):
        vm.lrs_for_groups(lr, 3)


def test_seed_makes_weights_repeatable_without_touching_global_rng() -> None:
    before = torch.get_rng_state()
    a = vm.create_model(2, arch="resnet18", seed=1)
    b = vm.create_model(2, arch="resnet18", seed=1)
    c = vm.create_model(2, arch="resnet18", seed=2)
    assert torch.equal(torch.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["body.conv1.weight"], sc["body.conv1.weight"])


def test_local_weights_file_loads_into_the_body(tmp_path) -> None:
    reference = torchvision.models.resnet18(weights=None)
    with torch.no_grad():
        reference.conv1.weight.fill_(0.125)
        reference.bn1.running_mean.fill_(0.5)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)                  # fc.* included: ignored
    model = vm.create_model(3, arch="resnet18", weights=path)
    body = model.body.state_dict()
    for key, value in reference.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(body[key], value), key


def test_weights_file_of_another_architecture_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(SgdlabError, match="does not fit resnet34"):
        vm.create_model(3, arch="resnet34", weights=path)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(SgdlabError, match="could not read"):
        vm.create_model(3, arch="resnet18", weights=garbage)
    with pytest.raises(SgdlabError, match="not found"):
        vm.create_model(3, arch="resnet18", weights=tmp_path / "missing.pth")


def test_imagenet_weights_without_network_say_what_to_do(monkeypatch) -> None:
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    with pytest.raises(SgdlabError, match="no network: .*pass weights=PATH"):
        vm.create_model(3, arch="resnet34", weights="imagenet")
    assert calls and calls[0] == torchvision.models.ResNet34_Weights.IMAGENET1K_V1.url


@pytest.mark.parametrize("kwargs", [dict(n_classes=1), dict(n_classes=3, arch="vgg16"),
                                    dict(n_classes=3, head="mlp"), dict(n_classes=2.0)])
def test_bad_model_arguments_raise(kwargs) -> None:
    with pytest.raises(SgdlabError):
        vm.create_model(**kwargs)


def test_weights_enum_of_another_architecture_is_a_clear_error() -> None:
    with pytest.raises(SgdlabError, match="not weights for resnet34"):
        vm.create_model(3, arch="resnet34",
                        weights=torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
