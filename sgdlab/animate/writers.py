"""Turning frames into files: MP4 through ffmpeg, GIF through Pillow.

A writer knows nothing about movies. It takes

* ``frames``: an iterable of RGBA pictures, each ``height x width x 4`` bytes (``uint8``, row
  by row from the top-left) in any buffer: the Agg canvas's ``memoryview`` or a numpy array;
* ``size = (width, height)`` of every frame, in pixels;
* ``path``: the file to write, whatever its extension (so a temporary name works);
* ``fps``: frames per second.

:meth:`Movie.save <sgdlab.animate.movie.Movie.save>` picks the writer from the extension
(:data:`FRAME_WRITERS`), renders into a temporary file in the target folder and renames it at
the end, so a failed or interrupted render never leaves half a video behind.

MP4 is H.264 in yuv420p (what every browser and phone plays). The ffmpeg binary comes from the
``imageio-ffmpeg`` wheel and is driven through ``ffmpeg-python``; no system ffmpeg is needed.
Frames go straight into ffmpeg's stdin as raw RGBA bytes.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from sgdlab.animate.options import check_fps
from sgdlab.errors import SgdlabError

#: x264 settings shared by sgdlab's writer and the benchmark's matplotlib baseline.
H264_PRESET = "veryfast"
H264_CRF = 23

#: one RGBA picture: a buffer of ``height * width * 4`` bytes
Frame = memoryview | bytes | np.ndarray


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def with_progress(frames: Iterator[Frame], total: int, name: str,
                  progress: bool = True) -> Iterable[Frame]:
    """``frames`` behind a progress bar over ``total`` frames (unless ``progress`` is False);
    the bar suits where it is shown (:func:`sgdlab.progress.progress_bar`)."""
    if not progress:
        return frames
    from sgdlab.progress import progress_bar

    return progress_bar(frames, total=total, desc=name, unit="frame")


def _frame_bytes(frame: Frame, size: tuple[int, int]) -> int:
    """The number of bytes in ``frame``, which must be one RGBA picture of ``size``."""
    width, height = size
    nbytes = memoryview(frame).nbytes
    if nbytes != width * height * 4:
        raise SgdlabError(f"frame has {nbytes} bytes, expected {width}x{height} "
                          f"RGBA ({width * height * 4})")
    return nbytes


def write_mp4(frames: Iterable[Frame], size: tuple[int, int], path: str | os.PathLike,
              fps: float, preset: str = H264_PRESET, crf: int = H264_CRF) -> None:
    """Pipe raw RGBA ``frames`` of ``size = (width, height)`` into ffmpeg; H.264, yuv420p.

    ``path`` gets MP4 whatever its extension.
    """
    import ffmpeg

    fps = check_fps(fps)
    width, height = size
    stream = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgba", s=f"{width}x{height}",
                     framerate=f"{fps:g}")
        .output(os.fspath(path), format="mp4", vcodec="libx264", pix_fmt="yuv420p",
                preset=preset, crf=crf, movflags="+faststart")
        .global_args("-hide_banner", "-loglevel", "error")
        .overwrite_output()
    )
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: ffmpeg can never block on it
        process = subprocess.Popen(stream.compile(cmd=ffmpeg_exe()), stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=log)
        try:
            for frame in frames:
                _frame_bytes(frame, size)
                process.stdin.write(frame)
            process.stdin.close()
            returncode = process.wait()
        except BrokenPipeError:
            returncode = process.wait()
        finally:
            if process.poll() is None:  # interrupted: stop ffmpeg, the caller removes the file
                process.kill()
                process.wait()
        if returncode != 0:
            log.seek(0)
            message = log.read().decode(errors="replace").strip()[-2000:]
            raise SgdlabError(f"ffmpeg failed to write {os.fspath(path)!r} (exit code "
                              f"{returncode}): {message or 'no message'}")


def write_gif(frames: Iterable[Frame], size: tuple[int, int], path: str | os.PathLike,
              fps: float) -> None:
    """Write an animated GIF with Pillow (one 256-colour palette per frame, looping).

    GIF stores frame times in hundredths of a second, so the rate is rounded to that.
    Pillow merges frames identical to the one before; sgdlab's titles always carry the step
    number, so every frame differs.
    """
    from PIL import Image

    fps = check_fps(fps)
    images = []
    for frame in frames:
        _frame_bytes(frame, size)
        rgba = Image.frombuffer("RGBA", size, bytes(frame), "raw", "RGBA", 0, 1)
        images.append(rgba.convert("RGB").quantize(colors=256,
                                                   method=Image.Quantize.FASTOCTREE))
    if not images:
        raise SgdlabError("no frames to write")
    duration = max(10, round(1000.0 / fps / 10) * 10)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration, loop=0, optimize=False)


#: the largest HTML player sgdlab writes, in MB; past it, an MP4 or fewer/smaller frames
MAX_HTML_MB = 150.0


def html_embed_limit_mb(sample_png_bytes: Iterable[int], frames: int,
                        max_mb: float | None = None) -> float:
    """The ``animation.embed_limit`` (MB) that an HTML player of ``frames`` frames needs.

    Each frame is embedded as base64 text of its PNG: 4 characters per 3 bytes plus a newline
    every 76, so about ``1.35 * png`` bytes. From a few sample frames' PNG sizes the estimate is
    ``frames * 1.35 * max(sample) * 1.5`` (the margin covers frames busier than the samples)
    plus 1 MB. Refuses with :class:`SgdlabError` when that exceeds ``max_mb`` (default
    :data:`MAX_HTML_MB`).
    """
    max_mb = MAX_HTML_MB if max_mb is None else max_mb
    largest = max(sample_png_bytes, default=0)
    needed = frames * 1.35 * largest * 1.5 / 2**20 + 1.0
    if needed > max_mb:
        raise SgdlabError(
            f"an HTML player of {frames} frames would be about {needed / 1.5:.0f} MB "
            f"({largest / 1024:.0f} KB per frame), over sgdlab's limit of {max_mb:.0f} MB; "
            f"write an .mp4 instead (a few hundred KB), or use fewer --steps or a smaller "
            f"--size")
    return needed


def check_html_frames(html: str, frames: int) -> str:
    """``html`` (a matplotlib JS player) if it embeds all ``frames`` frames, else an error.

    matplotlib stops embedding, with only a log warning, once the player reaches
    ``animation.embed_limit``; sgdlab never hands out a player with frames missing.
    """
    kept = len(re.findall(r"frames\[\d+\] = ", html))
    if kept != frames:
        raise SgdlabError(
            f"the HTML player kept only {kept} of {frames} frames ({len(html) / 2**20:.0f} MB "
            f"reached matplotlib's embed limit); write an .mp4 instead, or use fewer --steps "
            f"or a smaller --size")
    return html


#: the writer of each format that is made from frames (an HTML player is made by matplotlib
#: from the figure itself: :meth:`Movie.to_jshtml <sgdlab.animate.movie.Movie.to_jshtml>`)
FRAME_WRITERS: dict[str, Callable[..., None]] = {"mp4": write_mp4, "gif": write_gif}
