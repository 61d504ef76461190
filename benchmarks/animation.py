"""How much faster is sgdlab's MP4 writer than ``FuncAnimation.save``? Measured in one run.

The lecture's line-fit scene (100 steps of lr 0.1: 101 frames) is written twice at the same
size, dpi and fps, with the same x264 settings and the same ffmpeg binary (imageio-ffmpeg's):

* baseline: ``movie.animation().save(..., writer=FFMpegWriter(...))`` — matplotlib redraws the
  whole figure for every frame and pipes it to ffmpeg;
* sgdlab: ``movie.save(...)`` — the background is drawn once on the Agg canvas, then each frame
  pastes it back, draws only the moving artists and pipes the raw pixels to ffmpeg.

For reference, a third line pipes a *full* redraw of every frame through sgdlab's writer: it
separates what blitting saves from what FuncAnimation's extra redraws cost (``save`` draws the
figure about three times per frame). The methods alternate ``--repeats`` times (so machine
noise hits all alike) and the best time of each counts. The baseline's and sgdlab's files are
then decoded and compared frame by frame. Target: >= 5x.

Run: ``python benchmarks/animation.py [--size 640x480] [--dpi 100] [--fps 20] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.animation import FFMpegWriter  # noqa: E402

import sgdlab  # noqa: E402
from sgdlab.animate import line_fit  # noqa: E402
from sgdlab.animate.cli import frame_size  # noqa: E402
from sgdlab.animate.probe import decode_frames, probe_video  # noqa: E402
from sgdlab.animate.writers import H264_CRF, H264_PRESET, ffmpeg_exe, write_mp4  # noqa: E402


def lecture_scene(size: tuple[int, int], dpi: float, steps: int):
    x, y = sgdlab.make_linear_data()
    history = sgdlab.gradient_descent(x, y, lr=0.1, steps=steps)
    return line_fit(history, size=size, dpi=dpi)


def time_funcanimation(movie, path: Path, fps: float) -> float:
    matplotlib.rcParams["animation.ffmpeg_path"] = ffmpeg_exe()
    writer = FFMpegWriter(fps=fps, codec="libx264",
                          extra_args=["-preset", H264_PRESET, "-crf", str(H264_CRF),
                                      "-pix_fmt", "yuv420p"])
    start = time.perf_counter()
    movie.animation(fps).save(path, writer=writer, dpi=movie.dpi)
    return time.perf_counter() - start


def time_fast_path(movie, path: Path, fps: float) -> float:
    start = time.perf_counter()
    movie.save(path, fps=fps)
    return time.perf_counter() - start


def time_full_redraw(movie, path: Path, fps: float) -> float:
    start = time.perf_counter()
    frames = (movie.render(k) for k in range(movie.frames))
    write_mp4((memoryview(f) for f in frames), movie.pixel_size, path, fps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=frame_size, default=(640, 480), metavar="WxH")
    parser.add_argument("--dpi", type=float, default=100.0)
    parser.add_argument("--fps", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    frames = args.steps + 1
    width, height = args.size
    print(f"line-fit scene: {frames} frames, {width}x{height} px, dpi {args.dpi:g}, "
          f"{args.fps:g} fps, libx264 preset {H264_PRESET} crf {H264_CRF}, "
          f"best of {args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        baseline_mp4, fast_mp4 = Path(tmp) / "funcanimation.mp4", Path(tmp) / "sgdlab.mp4"
        redraw_mp4 = Path(tmp) / "redraw.mp4"
        baseline, fast, redraw = [], [], []
        for _ in range(args.repeats):
            # a fresh figure for each: FFMpegWriter may nudge the figure size to even pixels
            baseline.append(time_funcanimation(lecture_scene(args.size, args.dpi, args.steps),
                                               baseline_mp4, args.fps))
            fast.append(time_fast_path(lecture_scene(args.size, args.dpi, args.steps),
                                       fast_mp4, args.fps))
            redraw.append(time_full_redraw(lecture_scene(args.size, args.dpi, args.steps),
                                           redraw_mp4, args.fps))
        for path in (baseline_mp4, fast_mp4):
            info = probe_video(path)
            assert info.frames == frames and (info.width, info.height) == (width, height), info
        a = decode_frames(baseline_mp4, args.size).astype(np.int16)
        b = decode_frames(fast_mp4, args.size).astype(np.int16)
        difference = int(np.abs(a - b).max())

    t_base, t_fast, t_redraw = min(baseline), min(fast), min(redraw)
    print(f"FuncAnimation.save + FFMpegWriter: {t_base:6.2f} s  {frames / t_base:7.1f} frames/s")
    print(f"sgdlab fast path (Agg -> ffmpeg):  {t_fast:6.2f} s  {frames / t_fast:7.1f} frames/s")
    print(f"ratio: {t_base / t_fast:.1f}x faster (target >= 5x)")
    print(f"for reference, one full redraw per frame into the same pipe: {t_redraw:6.2f} s  "
          f"{frames / t_redraw:7.1f} frames/s (fast path {t_redraw / t_fast:.1f}x faster)")
    print(f"decoded videos, largest pixel difference: {difference} (0 = identical pictures)")


if __name__ == "__main__":
    main()
