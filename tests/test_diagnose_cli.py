"""``sgdlab diagnose PATH``: every file sgdlab writes about a run, and clear errors otherwise."""

from __future__ import annotations

import argparse
import datetime

import numpy as np
import pytest
import torch

import sgdlab
from sgdlab.cli import main
from sgdlab.diagnose import add_commands, diagnose, read_epoch_table
from sgdlab.diagnose.records import read_run
from sgdlab.errors import SgdlabError

# The real rise at 96 images: caught when the file says n_valid, not without it.
ERRORS = [29, 22, 16, 12, 10, 14, 18, 21, 24]
TRAIN = [1.0, 0.7, 0.5, 0.38, 0.3, 0.24, 0.19, 0.15, 0.12]
VALID = [0.8, 0.6, 0.45, 0.38, 0.35, 0.4, 0.47, 0.53, 0.6]
ROWS = [(t, v, k / 96) for t, v, k in zip(TRAIN, VALID, ERRORS, strict=True)]


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def printed_table(rows) -> str:
    lines = ["epoch  train_loss  valid_loss  error_rate  time"]
    lines += [f"{i:5d}  {t:10.6f}  {v:10.6f}  {e:10.6f}  00:13"
              for i, (t, v, e) in enumerate(rows, start=1)]
    return "\n".join(lines)


def sgdlab_csv(rows, n_valid="96", n_classes="3") -> str:
    lines = ["epoch,train_loss,valid_loss,error_rate,time,n_valid,n_classes"]
    lines += [f"{i},{t!r},{v!r},{e!r},00:13,{n_valid},{n_classes}"
              for i, (t, v, e) in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"


def checkpoint(rows=ROWS, **run) -> dict:
    record = {"rows": [{"epoch": i, "train_loss": t, "valid_loss": v, "error_rate": e,
                        "seconds": 13.0} for i, (t, v, e) in enumerate(rows, start=1)],
              "n_valid": 96, "n_classes": 3, "split_seed": 42, "valid_pct": 0.2,
              "data_folder": "bears", **run}
    return {"format": "sgdlab-learner-1", "arch": "resnet18", "classes": ["a", "b", "c"],
            "state_dict": {"weight": torch.zeros(3, 2)}, "run": record}


# ---------------------------------------------------------------------------------------------
# What it reads


def test_the_csv_bears_train_writes_carries_its_counts(tmp_path, capsys):
    path = tmp_path / "bears.csv"
    path.write_text(sgdlab_csv(ROWS))
    table = read_epoch_table(path)
    assert (table.n_valid, table.n_classes, len(table)) == (96, 3, 9)
    assert run_cli(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "9 epochs, 96 validation images, 3 classes" in out
    assert "Too many epochs." in out


def test_the_vision_recorders_own_csv_is_read(tmp_path):
    recording = pytest.importorskip("sgdlab.vision.recorder")
    recorder = recording.Recorder(n_valid=96, n_classes=3)
    for epoch, (t, v, e) in enumerate(ROWS, start=1):
        recorder.rows.append(recording.EpochRow(epoch, t, v, e, 13.0))
    path = recorder.to_csv(tmp_path / "bears.csv")
    assert diagnose(read_epoch_table(path)) == diagnose(recorder)


def test_a_fastai_csv_has_no_counts_and_the_options_supply_them(tmp_path, capsys):
    path = tmp_path / "history.csv"
    lines = ["epoch,train_loss,valid_loss,error_rate,time"]
    lines += [f"{i},{t},{v},{e},00:13" for i, (t, v, e) in enumerate(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    assert run_cli(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "validation images: unknown" in out and "Nothing wrong." in out
    assert "Without n_valid" in out
    assert run_cli(["diagnose", str(path), "--n-valid", "96", "--n-classes", "3"]) == 0
    assert "Too many epochs." in capsys.readouterr().out


@pytest.mark.parametrize("first", ["epoch", "train_loss"])
def test_a_csv_with_a_byte_order_mark(tmp_path, first):
    # Excel writes one; with train_loss first the mark would hide that column
    text = sgdlab_csv(ROWS)
    if first == "train_loss":
        text = "\n".join(line.split(",", 1)[1] for line in text.splitlines())
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert read_epoch_table(path).n_valid == 96
    assert diagnose(read_epoch_table(path)).problem == "too_many_epochs"


def test_a_csv_with_accuracy_instead_of_error_rate(tmp_path):
    path = tmp_path / "accuracy.csv"
    lines = ["epoch,train_loss,valid_loss,accuracy,time"]
    lines += [f"{i},{t},{v},{1 - e},00:13" for i, (t, v, e) in enumerate(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    errors = read_epoch_table(path).error_rates
    assert errors == pytest.approx([e for _, _, e in ROWS])


def test_the_table_as_sgdlab_prints_it(tmp_path, capsys):
    path = tmp_path / "train-output.txt"
    path.write_text("data: bears: 384 training and 96 validation images of 3 classes (black, "
                    "grizzly, teddys), 128 px, on cpu\nmodel: resnet18\n"
                    f"{printed_table(ROWS)}\n2 stages trained in 3 minutes\n\ndiagnosis: ...\n")
    table = read_epoch_table(path)
    assert (len(table), table.n_valid, table.n_classes) == (9, 96, 3)
    assert table.error_rates == pytest.approx([e for _, _, e in ROWS], abs=1e-6)
    assert run_cli(["diagnose", str(path)]) == 0
    assert "Too many epochs." in capsys.readouterr().out


def test_a_printout_with_two_tables_is_read_at_its_last(tmp_path):
    path = tmp_path / "two.txt"
    first = [(1.2, 1.0, 0.5), (1.0, 0.9, 0.4)]
    path.write_text(f"{printed_table(first)}\nunfrozen: ...\n{printed_table(ROWS)}\n")
    assert len(read_epoch_table(path)) == len(ROWS)


def test_a_captured_terminal_with_progress_bars_between_the_rows(tmp_path):
    # `sgdlab bears train > out.log 2>&1`: tqdm's bars (\r-separated) and blank lines sit
    # between the rows of the table
    header, *rows = printed_table(ROWS).split("\n")
    bars = [f"epoch {i}:  50%|#####     | 6/12 [00:19<00:18,  3.16s/it, loss=0.69]\r"
            f"validating: 100%|##########| 4/4 [00:01<00:00]\r\n" for i in range(1, 10)]
    text = "data: bears: 384 training and 96 validation images of 3 classes, 128 px\n"
    text += header + "\n" + "".join(f"\n{bar}{row}\n" for bar, row in zip(bars, rows,
                                                                        strict=True))
    text += "\ndiagnosis: Too many epochs. ...\nsaved: models/bears.pth\n"
    path = tmp_path / "out.log"
    path.write_text(text)
    table = read_epoch_table(path)
    assert (len(table), table.n_valid) == (len(ROWS), 96)
    assert table.error_rates == pytest.approx([e for _, _, e in ROWS], abs=1e-6)


def test_a_printed_table_with_a_blown_up_loss(tmp_path, capsys):
    path = tmp_path / "lr05.txt"
    path.write_text("epoch  train_loss  valid_loss  error_rate  time\n"
                    "    1   12.220007  1.1442e+09    0.765957  00:13\n")
    assert run_cli(["diagnose", str(path)]) == 0
    assert "Learning rate too high." in capsys.readouterr().out


def test_a_checkpoint_with_its_run(tmp_path, capsys):
    path = tmp_path / "bears.pth"
    torch.save(checkpoint(), path)
    table = read_epoch_table(path)
    assert (len(table), table.n_valid, table.n_classes) == (9, 96, 3)
    assert run_cli(["diagnose", str(path)]) == 0
    assert "Too many epochs." in capsys.readouterr().out


def test_the_kind_is_told_by_content_not_by_the_name(tmp_path, data_history):
    named_csv = tmp_path / "really-a-checkpoint.csv"
    torch.save(checkpoint(), named_csv)
    assert len(read_epoch_table(named_csv)) == 9
    named_pt = tmp_path / "really-a-table.pt"
    named_pt.write_text(sgdlab_csv(ROWS))
    assert len(read_epoch_table(named_pt)) == 9
    history = data_history.save(tmp_path / "history.txt")
    assert isinstance(read_run(history), sgdlab.History)


def test_an_old_checkpoint_without_a_run_says_so(tmp_path):
    path = tmp_path / "old.pth"
    old = checkpoint()
    del old["run"]
    torch.save(old, path)
    with pytest.raises(SgdlabError, match="holds no epoch table"):
        read_epoch_table(path)


@pytest.fixture
def data_history() -> sgdlab.History:
    return sgdlab.gradient_descent(*sgdlab.make_linear_data(), lr=1e-3, steps=100)


def test_a_saved_history(tmp_path, capsys, data_history):
    path = data_history.save(tmp_path / "slow.pt")
    assert run_cli(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a linear run of 100 steps" in out and "Learning rate too low." in out
    with pytest.raises(SgdlabError, match="apply to epoch tables"):
        run_cli(["diagnose", str(path), "--n-valid", "96"])
    with pytest.raises(SgdlabError, match="diagnose_history"):
        read_epoch_table(path)


# ---------------------------------------------------------------------------------------------
# What it refuses, with what it expected


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(range(256))


@pytest.mark.parametrize("kind, words", [
    ("jpeg", "neither text nor a torch file"),
    ("binary", "neither text nor a torch file"),
    ("empty", "is empty"),
    ("folder", "is a folder"),
    ("missing", "does not exist"),
    ("prose", "neither a CSV with a header nor a printed epoch table"),
    ("fake zip", "cannot be read as one safely"),
    ("tensor", "holds a Tensor"),
    ("other dict", "neither a checkpoint saved by sgdlab"),
    ("no column", "no column valid_loss"),
    ("bad number", "line 3: valid_loss must be a number"),
    ("header only", "no epochs"),
    ("mixed counts", "different values"),
    ("bad count", "n_valid must be at least 1"),
    ("empty table", "has no rows"),
    ("damaged run", "damaged run record"),
    ("bad run row", "lacks error_rate"),
])
def test_anything_else_gets_a_clear_error(tmp_path, kind, words):
    path = tmp_path / "file.csv"
    writers = {
        "jpeg": lambda: path.write_bytes(JPEG),
        "binary": lambda: path.write_bytes(np.random.default_rng(0).bytes(4096) + b"\x00"),
        "empty": lambda: path.write_bytes(b""),
        "folder": lambda: path.mkdir(),
        "missing": lambda: None,
        "prose": lambda: path.write_text("These are my notes about the run.\nIt went well.\n"),
        "fake zip": lambda: path.write_bytes(b"PK\x03\x04" + b"\x00" * 100),
        "tensor": lambda: torch.save(torch.zeros(3), path),
        "other dict": lambda: torch.save({"weights": torch.zeros(3)}, path),
        "no column": lambda: path.write_text("epoch,train_loss,error_rate\n1,1.0,0.5\n"),
        "bad number": lambda: path.write_text(
            "train_loss,valid_loss,error_rate\n1.0,0.5,0.5\n1.0,abc,0.5\n"),
        "header only": lambda: path.write_text("train_loss,valid_loss,error_rate\n"),
        "mixed counts": lambda: path.write_text(
            "train_loss,valid_loss,error_rate,n_valid\n1,0.5,0.5,96\n1,0.5,0.5,141\n"),
        "bad count": lambda: path.write_text(sgdlab_csv(ROWS, n_valid="0")),
        "empty table": lambda: path.write_text("epoch  train_loss  valid_loss  error_rate  time"
                                               "\n\nnothing trained\n"),
        "damaged run": lambda: torch.save({**checkpoint(), "run": {"rows": 3}}, path),
        "bad run row": lambda: torch.save(
            {**checkpoint(), "run": {"rows": [{"train_loss": 1.0, "valid_loss": 1.0}]}}, path),
    }
    writers[kind]()
    with pytest.raises(SgdlabError, match=words) as info:
        run_cli(["diagnose", str(path)])
    assert "weights_only=False" not in str(info.value)


def test_an_unsafe_pickle_is_refused_without_unsafe_advice(tmp_path):
    path = tmp_path / "unsafe.pth"
    unsafe = datetime.date(2024, 1, 1)  # not on torch's list of safe types
    torch.save({"format": "sgdlab-learner-1", "run": {"rows": [], "extra": unsafe}}, path)
    with pytest.raises(SgdlabError) as info:
        read_run(path)
    assert "cannot be read as one safely" in str(info.value)
    assert "weights_only" not in str(info.value)


@pytest.mark.parametrize("content", [JPEG, b"", None])
def test_the_sgdlab_command_prints_an_error_and_no_traceback(tmp_path, capsys, content):
    path = tmp_path / "photo.jpg"
    if content is not None:
        path.write_bytes(content)
    assert main(["diagnose", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sgdlab: error: ") and "Traceback" not in err
    assert "expected an epoch table" in err


@pytest.mark.parametrize("option", [["--n-valid", "0"], ["--n-valid", "many"],
                                    ["--n-classes", "1"]])
def test_bad_options_are_usage_errors(tmp_path, option, capsys):
    path = tmp_path / "bears.csv"
    path.write_text(sgdlab_csv(ROWS))
    with pytest.raises(SystemExit) as info:
        run_cli(["diagnose", str(path), *option])
    assert info.value.code == 2
    assert "--n-" in capsys.readouterr().err
