"""Reading a written video back: what ffmpeg reports about it, and its decoded pixels.

For the tests, the benchmark and curious users; the bundled ffmpeg (imageio-ffmpeg has no
ffprobe) decodes every frame, so the counts are what a player would show.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

import numpy as np

from sgdlab.animate.writers import ffmpeg_exe
from sgdlab.errors import SgdlabError


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

