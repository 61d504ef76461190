"""Animations in a notebook: one inline HTML5 video, or a frame-by-frame player that works offline.

The lecture plays its animations with ``rc('animation', html='html5')``: an H.264 MP4 inside a
``<video>`` tag, a few hundred KB. :func:`html5_video` does the same with sgdlab's own MP4
writer. For stepping frame by frame, matplotlib's JavaScript player stays available
(:meth:`Movie.to_jshtml <sgdlab.animate.movie.Movie.to_jshtml>`); it draws its buttons with an
icon font from a CDN, so :func:`offline_player` swaps that link for a few lines of CSS that draw
the same buttons with plain characters: no network needed, no empty buttons offline.
"""

from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

from sgdlab.animate.movie import Movie
from sgdlab.animate.options import DEFAULT_FPS

#: the characters that stand in for the player's icon-font glyphs
_GLYPHS = {
    "minus": "\u2212", "plus": "+", "fast-backward": "\u21e4", "step-backward": "\u2039",
    "play": "\u25b6", "pause": "\u275a\u275a", "step-forward": "\u203a",
    "fast-forward": "\u21e5",
}
_ICON_CSS = "<style>\n.anim-buttons .fa { font-style: normal; font-weight: bold; }\n" + "".join(
    f'.anim-buttons .fa-{name}::before {{ content: "{glyph}"; }}\n'
    for name, glyph in _GLYPHS.items()
) + ".anim-buttons .fa-flip-horizontal { display: inline-block; transform: scaleX(-1); }\n" \
    "</style>\n"
_CDN_LINK = re.compile(r"<link[^>]*href=[\"']https?://[^\"']*[\"'][^>]*>", re.IGNORECASE)


def offline_player(html: str) -> str:
    """``html`` (matplotlib's JS player) with every stylesheet fetched from the web replaced
    by inline CSS, so that the page needs no network."""
    return _CDN_LINK.sub("", html).replace('<div class="animation">',
                                           _ICON_CSS + '<div class="animation">', 1)


def mp4_bytes(movie: Movie, fps: float = DEFAULT_FPS) -> bytes:
    """The movie as an H.264 MP4 (yuv420p), through sgdlab's ffmpeg writer."""
    with tempfile.TemporaryDirectory(prefix="sgdlab-video-") as folder:
        return movie.save(Path(folder) / "movie.mp4", fps=fps).read_bytes()


def html5_video(movie: Movie, fps: float = DEFAULT_FPS) -> str:
    """A ``<video>`` tag with the movie's MP4 inline (base64), looping, with controls."""
    width, height = movie.pixel_size
    data = base64.b64encode(mp4_bytes(movie, fps)).decode("ascii")
    return (f'<video width="{width}" height="{height}" controls autoplay loop muted '
            f'playsinline><source type="video/mp4" src="data:video/mp4;base64,{data}">'
            "Your browser cannot play this H.264 video; save it with "
            "movie.save('clip.mp4') instead.</video>")
