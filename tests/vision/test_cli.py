"""``sgdlab bears ...`` end to end on a tiny fake dataset, and the two bear benchmarks' scripts.

The fake bears are coloured-noise JPEGs (one colour per class) written with Pillow into
``tmp_path``: 3 classes x 10 photos, 32-px training with resnet18, one epoch. Oracles: the
checkpoint file, the seeded split, ``load_learner(...).predict`` photo by photo, the files on disk.
"""

from __future__ import annotations

import importlib.util
import io
import re
import threading
from contextlib import redirect_stdout
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from sgdlab import cli
from sgdlab.vision.checkpoint import load_learner, read_checkpoint
from sgdlab.vision.data import find_classes, split_items

from .fakes import write_fake_bears

REPO = Path(__file__).resolve().parents[2]
TINY = ["--size", "32", "--arch", "resnet18", "--batch-size", "8", "--device", "cpu"]
ONE_CYCLE = ["--small-epochs", "0"]   # the CPU recipe's 64-px warm-up does not fit 32-px photos
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fake_bears(tmp_path_factory) -> Path:
    return write_fake_bears(tmp_path_factory.mktemp("fake") / "bears")


@pytest.fixture(scope="module")
def trained(fake_bears: Path, tmp_path_factory) -> tuple[Path, str]:
    """``sgdlab bears train`` once, with an unfrozen second stage: (checkpoint, output)."""
    models = tmp_path_factory.mktemp("models")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        patch.chdir(models)
        code = cli.main(["bears", "train", "--data", str(fake_bears), *TINY, *ONE_CYCLE,
                         "--epochs", "1",
                         "--lr", "1e-2", "--unfreeze-epochs", "1", "--unfreeze-lr", "1e-4",
                         "1e-3", "--name", "tiny", "--model-dir", str(models)])
    assert code == 0, out.getvalue()
    return models / "tiny.pth", out.getvalue()


# ----------------------------------------------------------------------------- help and errors

def test_bears_lists_its_actions(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["bears", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for action in ("download", "verify", "train", "lr-find", "interpret", "predict"):
        assert action in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_asking_for_cuda_without_a_gpu_is_explained(fake_bears, capsys):
    assert cli.main(["bears", "train", "--data", str(fake_bears), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["bears", "predict", "--model", "missing.pth", "x.jpg"], "checkpoint missing.pth not found"),
    (["bears", "train", "--data", "no-such-folder", *TINY, *ONE_CYCLE], "does not exist"),
    (["bears", "train", "--weights", "no-such-weights.pth", *TINY],
     "--weights=no-such-weights.pth: no such file"),
    (["bears", "verify", "no-such-folder"], "no folder at no-such-folder"),
])
def test_mistakes_give_an_error_message_not_a_traceback(argv, message, fake_bears, tmp_path,
                                                        monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if "--data" not in argv and argv[1] == "train":
        argv = [*argv, "--data", str(fake_bears)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sgdlab: error:") and message in err


# ----------------------------------------------------------------------------- train

def cpu_train_recipe(*options: str):
    from sgdlab.cli import build_parser
    from sgdlab.vision.cli import _recipe

    return _recipe(build_parser().parse_args(["bears", "train", "--device", "cpu", *options]))


def test_every_option_replaces_only_its_own_value_of_the_recipe():
    recipe = cpu_train_recipe()
    assert recipe.arch == "resnet34" and recipe.resizes and recipe.label_smoothing == 0.1
    assert (recipe.small_size, recipe.small_epochs, recipe.size) == (64, 40, 128)
    for own, name, value in ((["--epochs", "4"], "epochs", 4), (["--size", "96"], "size", 96),
                             (["--lr", "3e-3"], "lr", 3e-3),
                             (["--arch", "resnet18"], "arch", "resnet18")):
        changed = cpu_train_recipe(*own)
        assert getattr(changed, name) == value, own
        assert changed.resizes and changed.label_smoothing == 0.1, own   # nothing else changed
        assert changed == replace(recipe, **{name: value}), own
    assert "--epochs 4 changes the main stage only" in " ".join(
        cli.build_parser()._subparsers._group_actions[0].choices["bears"]._subparsers
        ._group_actions[0].choices["train"].description.split())
    kept = cpu_train_recipe("--epochs", "4", "--small-epochs", "3")
    assert kept.resizes and (kept.small_epochs, kept.epochs, kept.small_size) == (3, 4, 64)
    small = cpu_train_recipe("--size", "32", "--small-size", "16", "--small-epochs", "2")
    assert small.resizes and small.small_size == 16
    plain = cpu_train_recipe("--small-epochs", "0")
    assert not plain.resizes and [s.name for s in plain.stages()] == ["main"]


def test_a_recipe_that_cannot_work_is_refused_not_changed(fake_bears, capsys):
    assert cli.main(["bears", "train", "--data", str(fake_bears), "--device", "cpu",
                     "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert "--small-epochs 0" in err and "small_size=64" in err


@pytest.mark.slow
def test_train_with_progressive_resizing_trains_small_then_full_size(fake_bears, tmp_path,
                                                                     capsys):
    assert cli.main(["bears", "train", "--data", str(fake_bears), *TINY, "--epochs", "1",
                     "--small-epochs", "1", "--small-size", "16",
                     "--model-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    first, second = out.index("16 px, on cpu"), out.index("32 px, on cpu")
    assert first < out.index("small images: fit_one_cycle(1, 0.01) at 16 px", first) < second
    assert out.count("diagnosis:") == 1 and "no diagnosis for this stage" in out
    assert load_learner(tmp_path / "bears.pth").size == 32

@pytest.mark.slow
def test_train_prints_the_table_and_verdict_and_saves_both_stages(trained, fake_bears):
    path, out = trained
    assert "24 training and 6 validation images of 3 classes (black, grizzly, teddys), 32 px" \
        in out
    assert out.count("epoch  train_loss  valid_loss  error_rate  time") == 2
    rows = re.findall(r"^\s+1\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+\d\d:\d\d$", out, re.M)
    assert len(rows) == 2
    assert out.count("diagnosis: ") == 2
    assert "learning rates 0.0001, 0.00032, 0.001" in out  # slice(1e-4, 1e-3), three groups
    assert "unfrozen: unfreeze, then fit_one_cycle(1, slice(0.0001, 0.001)) at 32 px" in out
    stage_1 = path.with_name("tiny-stage-1.pth")
    assert f"saved stage 1: {stage_1}" in out and f"saved: {path}" in out
    checkpoint = read_checkpoint(path)
    assert checkpoint["arch"] == "resnet18" and checkpoint["size"] == 32
    assert checkpoint["classes"] == ["black", "grizzly", "teddys"]
    first = read_checkpoint(stage_1)["state_dict"]
    assert any(not torch.equal(first[k], v) for k, v in checkpoint["state_dict"].items())
    assert f"final error rate {float(rows[-1][2]):.4f}" in out
    assert not list(path.parent.glob(".*")), "a temporary file was left behind"


@pytest.mark.slow
def test_train_writes_the_epoch_table_as_csv_beside_the_checkpoint(trained):
    path, out = trained
    table = path.with_suffix(".csv")
    lines = table.read_text().splitlines()
    assert lines[0] == "epoch,train_loss,valid_loss,error_rate,time,n_valid,n_classes"
    printed = re.findall(r"^\s+(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d\d:\d\d)$",
                         out, re.M)
    last_stage = printed[-1:]                      # the unfrozen stage: one epoch
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == [p[0] for p in last_stage] == ["1"]
    for written, shown in zip(rows, last_stage, strict=True):
        assert [f"{float(v):.6f}" for v in written[1:4]] == list(shown[1:4])
        assert written[4:] == [shown[4], "6", "3"]   # 6 validation images of 3 classes
    assert f"epoch table: {table}" in out
    run = read_checkpoint(path)["run"]
    assert (run["n_valid"], run["split_seed"], run["valid_pct"]) == (6, 42, 0.2)


@pytest.mark.slow
def test_predict_reports_each_missing_or_unreadable_file_and_predicts_the_rest(
        trained, fake_bears, tmp_path, capsys):
    path, _ = trained
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("just text")
    good = fake_bears / "black" / "00000001.jpg"
    code = cli.main(["bears", "predict", "--model", str(path), str(tmp_path / "gone.jpg"),
                     str(good), str(not_an_image), str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.startswith(f"{good}: ")
    err = captured.err
    assert f"{tmp_path / 'gone.jpg'}: no such file; check the path" in err
    assert "verify" not in err.split("\n")[0]     # no dataset advice for a path that is not there
    assert f"{not_an_image}: cannot be read as an image (not an image" in err
    assert f"{tmp_path}: a folder, not an image" in err
    assert "predicted 1 of 4 images; 3 could not be read" in err


@pytest.mark.slow
def test_predict_and_interpret_use_exactly_the_file_named(trained, fake_bears, tmp_path,
                                                          monkeypatch, capsys):
    path, _ = trained
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "bears.pth").write_bytes(path.read_bytes())
    other = read_checkpoint(path)
    other["classes"] = ["a", "b", "c"]                      # a different model in models/
    torch.save(other, tmp_path / "models" / "bears.pth")
    photo = str(fake_bears / "teddys" / "00000003.jpg")
    assert cli.main(["bears", "predict", "--model", "bears.pth", photo]) == 0
    out = capsys.readouterr().out
    assert out.split(":")[1].split()[0] in ("black", "grizzly", "teddys")
    assert cli.main(["bears", "interpret", "--model", "bears.pth", "--data", str(fake_bears),
                     "--top", "2", "--out", "interp", "--device", "cpu"]) == 0


@pytest.mark.slow
def test_interpret_refuses_photos_the_model_may_have_trained_on(trained, fake_bears, capsys):
    path, _ = trained
    argv = ["bears", "interpret", "--model", str(path), "--data", str(fake_bears), "--top", "2",
            "--device", "cpu", "--seed", "7"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "were not validation photos when" in err and "split seed 42" in err
    assert "--allow-training-photos" in err
    assert cli.main([*argv, "--allow-training-photos", "--out", str(path.parent / "i")]) == 0
    assert "warning: " in capsys.readouterr().out


@pytest.mark.slow
def test_a_diverging_run_is_named_and_not_saved(fake_bears, tmp_path, capsys):
    code = cli.main(["bears", "train", "--data", str(fake_bears), *TINY, *ONE_CYCLE,
                     "--epochs", "1", "--lr", "1e4", "--model-dir", str(tmp_path / "models")])
    out = capsys.readouterr().out
    assert code == 1
    assert "Learning rate too high" in out and "nothing saved" in out
    assert not (tmp_path / "models" / "bears.pth").exists()


@pytest.mark.slow
def test_train_with_the_students_file_says_whose_code_trains(fake_bears, tmp_path, capsys):
    wrong = REPO / "tests" / "exercises" / "wrong" / "momentum_uphill.py"
    code = cli.main(["bears", "train", "--data", str(fake_bears), *TINY, *ONE_CYCLE,
                     "--epochs", "1", "--lr", "1e-2", "--model-dir", str(tmp_path),
                     "--impl", str(wrong)])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    assert ("note: momentum_uphill.py does not define cross_entropy() (exercise 10) yet: "
            "sgdlab's cross_entropy is used instead") in out
    header = out.index("optimizer: momentum_step from momentum_uphill.py (weight decay added")
    assert out.index("epoch  train_loss", header) > header
    assert "loss: cross_entropy from sgdlab, label smoothing 0.1" in out


# ----------------------------------------------------------------------------- lr-find

@pytest.mark.slow
def test_lr_find_saves_the_plot_and_prints_suggestions(fake_bears, tmp_path, capsys):
    out_png = tmp_path / "plots" / "lr.png"
    mine = tmp_path / "mine.py"  # a student's file with exercises 12 and 13 only
    mine.write_text("from sgdlab.lr_suggest import smooth_losses, suggest_lrs  # noqa: F401\n",
                    encoding="utf-8")
    assert cli.main(["bears", "lr-find", "--data", str(fake_bears), *TINY, "--num-it", "12",
                     "--start-lr", "1e-5", "--end-lr", "1", "--out", str(out_png),
                     "--impl", str(mine)]) == 0
    out = capsys.readouterr().out
    assert ("note: mine.py does not define momentum_step() (exercise 6) yet: sgdlab's "
            "momentum_step is used instead") in out
    assert ("lr_find: the curve by smooth_losses from mine.py, the suggestions by suggest_lrs "
            "from mine.py") in out
    assert out_png.read_bytes()[:8] == PNG_MAGIC
    found = {name: float(value) for name, value in
             re.findall(r"^(steepest descent|minimum / 10):\s+(\S+)$", out, re.M)}
    assert set(found) == {"steepest descent", "minimum / 10"}
    assert 1e-5 <= found["steepest descent"] <= 1
    assert 1e-6 <= found["minimum / 10"] <= 0.1


# ----------------------------------------------------------------------------- interpret, predict

@pytest.mark.slow
def test_interpret_prints_what_predict_confirms(trained, fake_bears, tmp_path, capsys):
    path, _ = trained
    out_dir = tmp_path / "interp"
    assert cli.main(["bears", "interpret", "--model", str(path), "--data", str(fake_bears),
                     "--top", "4", "--out", str(out_dir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    _, valid = split_items(find_classes(fake_bears)[1], seed=42)
    learn = load_learner(path)
    predicted = [learn.predict(p)[0] for p in valid]
    wrong = sum(p != item.parent.name for p, item in zip(predicted, valid, strict=True))
    assert f"error rate: {wrong}/{len(valid)} = {wrong / len(valid):.4f}" in out
    assert "actual \\ predicted  black  grizzly  teddys" in out
    listed = re.findall(r"^  (\S+\.jpg): (\w+) / (\w+) / (\d+\.\d+) / (\d+\.\d+)$", out, re.M)
    assert len(listed) == 4
    losses = [float(loss) for *_, loss, _ in listed]
    assert losses == sorted(losses, reverse=True)
    for file, prediction, actual, loss, p_actual in listed:
        assert Path(file) in valid and Path(file).parent.name == actual
        assert predicted[valid.index(Path(file))] == prediction
        assert float(loss) == pytest.approx(-np.log(float(p_actual)), abs=0.02)
    for name in ("confusion_matrix.png", "top_losses.png"):
        assert (out_dir / name).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
def test_predict_prints_class_index_and_sorted_probabilities(trained, fake_bears, capsys):
    path, _ = trained
    photos = [fake_bears / "teddys" / "00000003.jpg", fake_bears / "black" / "00000001.jpg"]
    assert cli.main(["bears", "predict", "--model", str(path), *map(str, photos)]) == 0
    out = capsys.readouterr().out
    learn = load_learner(path)
    blocks = out.strip().split("\n")
    assert len(blocks) == 2 * 4
    for k, photo in enumerate(photos):
        name, index, probs = learn.predict(photo)
        head, *lines = blocks[4 * k: 4 * k + 4]
        assert head == f"{photo}: {name} (index {index})"
        shown = [(line.split()[0], float(line.split()[1])) for line in lines]
        assert shown[0][0] == name
        assert [p for _, p in shown] == sorted((p for _, p in shown), reverse=True)
        assert sum(p for _, p in shown) == pytest.approx(1.0, abs=2e-4)
        assert {c for c, _ in shown} == set(learn.classes)


# ----------------------------------------------------------------------------- verify, download

def test_verify_dry_run_then_quarantine(tmp_path, capsys):
    folder = write_fake_bears(tmp_path / "bears", per_class=2)
    (folder / "black" / "page.jpg").write_text("<html>gone</html>")
    assert cli.main(["bears", "verify", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "7 picture(s) checked, 6 fine" in out and "1 unreadable (would be removed)" in out
    assert (folder / "black" / "page.jpg").exists()
    assert cli.main(["bears", "verify", str(folder)]) == 0
    out = capsys.readouterr().out
    assert not (folder / "black" / "page.jpg").exists()
    assert (folder / ".quarantine" / "black" / "page.jpg").exists()
    assert (folder / ".quarantine" / "manifest.csv").exists() and "manifest:" in out


@pytest.fixture
def picture_server(tmp_path):
    site = write_fake_bears(tmp_path / "site", per_class=1)
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_saves_the_pictures_and_reports_failures(picture_server, tmp_path, capsys):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{picture_server}/black/00000000.jpg\n{picture_server}/gone.jpg\n"
                    f"{picture_server}/teddys/00000000.jpg\n{picture_server}/grizzly/x.jpg\n")
    dest = tmp_path / "downloaded"
    assert cli.main(["bears", "download", str(urls), str(dest), "--max-pics", "3",
                     "--workers", "2", "--timeout", "5", "--allow-private"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == ["00000000.jpg", "00000002.jpg"]
    assert "2 picture(s) downloaded" in out and "1 of 3 URL(s) failed" in out
    assert "HTTP 404" in out

    urls.write_text(f"{picture_server}/gone.jpg\n")
    assert cli.main(["bears", "download", str(urls), str(tmp_path / "empty"), "--workers",
                     "1"]) == 1


# ----------------------------------------------------------------------------- the benchmarks

def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_agreement_without_a_gpu_says_there_is_nothing_to_compare(capsys):
    agreement = load_benchmark("cpu_gpu_agreement")
    assert agreement.main([]) == 0
    assert capsys.readouterr().out.strip() == agreement.NO_CUDA


@pytest.mark.slow
def test_agreement_of_the_cpu_with_itself_is_exact(capsys):
    agreement = load_benchmark("cpu_gpu_agreement")
    assert agreement.main(["--devices", "cpu", "cpu", "--steps", "2", "--size", "32",
                           "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d)\s+(\d\.\d+)\s+(\d\.\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$",
                      out, re.M)
    assert [r[0] for r in rows] == ["1", "2"]
    for _, loss_a, loss_b, *differences in rows:
        assert loss_a == loss_b and all(float(d) == 0 for d in differences)


@pytest.mark.slow
def test_bears_benchmark_runs_both_parts(fake_bears, capsys):
    bench = load_benchmark("bears")
    assert bench.main(["--data", str(fake_bears), "--device", "cpu", "--size", "32",
                       "--small-epochs", "0", "--arch", "resnet18", "--epochs", "2",
                       "--batch-size", "8", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    ours = float(re.search(r"sgdlab Learner.fit_one_cycle : +(\S+) images/s", out)[1])
    plain = float(re.search(r"plain torch.optim.SGD loop   : +(\S+) images/s", out)[1])
    ratio = float(re.search(r"ratio sgdlab/plain +: (\S+)x", out)[1])
    assert ratio == pytest.approx(ours / plain, rel=0.01)
    assert "one epoch = 24 training images" in out
    final = re.search(r"final error rate (\d\.\d+)", out)
    assert final is not None and 0 <= float(final[1]) <= 1
    assert out.count("    1  ") >= 1  # the epoch table of the accuracy recipe was printed
