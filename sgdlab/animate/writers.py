"""Writing movies to files: MP4 through ffmpeg, GIF through Pillow, HTML for a browser.

The format comes from the file extension. Every writer renders into a temporary file in the
target folder and renames it at the end, so a failed or interrupted render never leaves half a
video behind.

MP4 is H.264 in yuv420p (what every browser and phone plays), which needs an even width and
height. The ffmpeg binary comes from the ``imageio-ffmpeg`` wheel and is driven through
``ffmpeg-python``; no system ffmpeg is needed. Frames go from the Agg canvas straight into
ffmpeg's stdin as raw RGBA bytes.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sgdlab.animate.movie import DEFAULT_FPS, check_fps
from sgdlab.errors import SgdlabError
from sgdlab.files import atomic_path

if TYPE_CHECKING:
    from sgdlab.animate.movie import Movie

FORMATS = {".mp4": "MP4 video (H.264)", ".gif": "animated GIF", ".html": "HTML/JS player"}

#: x264 settings shared by sgdlab's writer and the benchmark's matplotlib baseline.
H264_PRESET = "veryfast"
H264_CRF = 23


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def video_format(path: str | os.PathLike) -> str:
    """The output format for ``path``, from its extension: ``"mp4"``, ``"gif"`` or ``"html"``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(f"{ext} ({what})" for ext, what in FORMATS.items())
        shown = f"'{suffix}'" if suffix else "no extension"
        raise SgdlabError(f"cannot tell the video format of {os.fspath(path)!r} ({shown}); "
                          f"end the file name with one of: {known}")
    return suffix[1:]


def _check_writable(folder: Path) -> None:
    """A clear error now, rather than after rendering, if ``folder`` cannot take a file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise SgdlabError(f"cannot write into {os.fspath(folder)!r}: {err.strerror or err}; "
                          f"choose a folder you can write to") from err


def check_output(path: str | os.PathLike, size: tuple[int, int] | None = None) -> str:
    """Check before rendering that ``path`` can take a movie of ``size``; returns the format.

    The extension must be known, MP4 needs an even width and height, and the folder must be
    writable (it is created if missing).
    """
    kind = _check_target(Path(path), size)
    _check_writable(Path(path).parent)
    return kind


def _check_target(path: Path, size: tuple[int, int] | None) -> str:
    kind = video_format(path)
    if path.is_dir():
        raise SgdlabError(f"{os.fspath(path)!r} is a folder; give a file name such as "
                          f"{os.fspath(path / ('movie.' + kind))!r}")
    if kind == "mp4" and size is not None and any(side % 2 for side in size):
        w, h = size
        raise SgdlabError(f"MP4 (H.264, yuv420p) needs an even width and height, got {w}x{h}; "
                          f"try {w + w % 2}x{h + h % 2}")
    return kind


def save(movie: Movie, path: str | os.PathLike, fps: float = DEFAULT_FPS,
         progress: bool = False) -> Path:
    """Render ``movie`` into ``path`` (.mp4, .gif or .html) atomically; returns the path.

    Args:
        movie: what to render.
        path: the output file; its folder is created if needed.
        fps: frames per second of the video.
        progress: show a tqdm progress bar over the frames.
    """
    path = Path(path)
    kind = _check_target(path, movie.size)
    fps = check_fps(fps)
    _check_writable(path.parent)
    frames = movie.frames_rgba()
    try:
        with atomic_path(path) as tmp:
            if kind == "html":
                tmp.write_text(movie.to_jshtml(fps), encoding="utf-8")
            else:
                writer = write_mp4 if kind == "mp4" else write_gif
                writer(_with_progress(frames, movie.frames, path.name, progress),
                       movie.pixel_size, tmp, fps)
    finally:
        frames.close()  # puts the figure back the way a full redraw expects it
    return path


def _with_progress(frames: Iterator[memoryview], total: int, name: str,
                   progress: bool) -> Iterable[memoryview]:
    if not progress:
        return frames
    from tqdm import tqdm

    return tqdm(frames, total=total, desc=name, unit="frame")


def write_mp4(frames: Iterable[memoryview], size: tuple[int, int], path: str | os.PathLike,
              fps: float, preset: str = H264_PRESET, crf: int = H264_CRF) -> None:
    """Pipe raw RGBA ``frames`` of ``size = (width, height)`` into ffmpeg; H.264, yuv420p.

    ``path`` gets MP4 whatever its extension (so a temporary name works).
    """
    import ffmpeg

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
                if frame.nbytes != width * height * 4:
                    raise SgdlabError(f"frame has {frame.nbytes} bytes, expected {width}x{height} "
                                      f"RGBA ({width * height * 4})")
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


def write_gif(frames: Iterable[memoryview], size: tuple[int, int], path: str | os.PathLike,
              fps: float) -> None:
    """Write an animated GIF with Pillow (one 256-colour palette per frame, looping).

    GIF stores frame times in hundredths of a second, so the rate is rounded to that.
    Pillow merges frames identical to the one before; sgdlab's titles always carry the step
    number, so every frame differs.
    """
    from PIL import Image

    images = []
    for frame in frames:
        rgba = Image.frombuffer("RGBA", size, bytes(frame), "raw", "RGBA", 0, 1)
        images.append(rgba.convert("RGB").quantize(colors=256,
                                                   method=Image.Quantize.FASTOCTREE))
    if not images:
        raise SgdlabError("no frames to write")
    duration = max(10, round(1000.0 / fps / 10) * 10)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration, loop=0, optimize=False)


# -- reading back (tests, the benchmark, curious users) ----------------------------------------
@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a video after decoding every frame."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int


_STREAM = re.compile(r"Stream #\S+.*?: Video: (?P<codec>\w+).*?, (?P<pix>\w+)(?:\([^)]*\))?, "
                     r"(?P<w>\d+)x(?P<h>\d+).*?, (?P<fps>[\d.]+) fps")
_FRAME = re.compile(r"frame=\s*(\d+)")


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Decode ``path`` with the bundled ffmpeg and report codec, pixel format, size, fps and
    the number of frames (imageio-ffmpeg has no ffprobe)."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path), "-map", "0:v:0",
         "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )
    stream = _STREAM.search(result.stderr)
    frames = _FRAME.findall(result.stderr)
    if result.returncode != 0 or stream is None or not frames:
        raise SgdlabError(f"ffmpeg could not decode {os.fspath(path)!r}: "
                          f"{result.stderr.strip()[-500:]}")
    return VideoInfo(codec=stream["codec"], pix_fmt=stream["pix"], width=int(stream["w"]),
                     height=int(stream["h"]), fps=float(stream["fps"]), frames=int(frames[-1]))


def decode_frames(path: str | os.PathLike, size: tuple[int, int]) -> np.ndarray:
    """Every frame of a video as a (frames, height, width, 3) uint8 RGB array."""
    import ffmpeg

    width, height = size
    try:
        out, _ = (ffmpeg.input(os.fspath(path))
                  .output("pipe:", format="rawvideo", pix_fmt="rgb24")
                  .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
                  .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True))
    except ffmpeg.Error as err:
        raise SgdlabError(f"ffmpeg could not decode {os.fspath(path)!r}: "
                          f"{err.stderr.decode(errors='replace')[-500:]}") from err
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, height, width, 3)

