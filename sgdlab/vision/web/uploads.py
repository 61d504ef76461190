"""What the server reads from a request: a picture's bytes, within limits, as upright RGB.

Two limits guard the server, each with its own error:

* ``max_bytes`` (default 10 MB): the size of the upload. The body is read in chunks and never
  kept past the limit (413). An oversized body is still read to its end (up to
  :data:`DRAIN_BYTES`) and thrown away, so that a browser gets the JSON error rather than a
  connection reset halfway through its upload.
* ``max_pixels`` (default 40 MP): a small file can decode into an enormous picture (a
  "decompression bomb": a 50 KB PNG of 20 000 × 20 000 pixels needs 1.2 GB). The header's
  width × height is checked before any pixel is decoded (413).

Only raster formats a camera or the web produce are opened (:data:`FORMATS`), never the
others Pillow knows (EPS, for one, would run Ghostscript). The picture is decoded the way
:func:`sgdlab.vision.images.load_image` decodes a file (the EXIF rotation applied, then
:func:`~sgdlab.vision.images.to_rgb`: CMYK, 16-bit, palette and transparent pictures become
8-bit RGB as :func:`~sgdlab.vision.clean.verify_images` expects), so an upload is seen exactly
as ``learn.predict(path)`` sees the same file.
"""

from __future__ import annotations

import io
import json
import re

from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from sgdlab.checks import check_number, check_whole_number
from sgdlab.vision.images import to_rgb
from sgdlab.vision.web.errors import RequestError

MB = 1_000_000
DEFAULT_MAX_BYTES = 10 * MB
DEFAULT_MAX_PIXELS = 40_000_000
#: Room for the multipart envelope around the file (boundaries, headers, the file name).
ENVELOPE_BYTES = 64 * 1024
#: How much of an oversized body is read and thrown away before answering 413.
DRAIN_BYTES = 64 * MB
#: The JSON body of /api/predict-url is a URL, nothing more.
MAX_JSON_BYTES = 64 * 1024
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF")  # JPEG includes the MPO of phones
Image.init()  # register every plugin, so that open(..., formats=FORMATS) knows them all


def megabytes(n_bytes: int) -> str:
    """``n_bytes`` for a person: ``10 MB``, ``0.05 MB``."""
    return f"{n_bytes / MB:.3g} MB"


def check_limits(max_bytes: object, max_pixels: object) -> tuple[int, int]:
    """The two upload limits as whole numbers ≥ 1, or a clear error."""
    return (check_whole_number(max_bytes, "max_bytes (--max-upload-mb)", minimum=1),
            check_whole_number(max_pixels, "max_pixels (--max-megapixels)", minimum=1))


def bytes_from_megabytes(value: object, name: str = "--max-upload-mb") -> int:
    """A size limit given in MB (``10``, ``0.05``) as bytes; must come to at least 1 byte."""
    mb = check_number(value, name, positive=True, hint="the default is 10")
    return check_whole_number(max(int(mb * MB), 0), f"{name} in bytes", minimum=1,
                              hint="give a larger number of megabytes")


def _too_large(max_bytes: int) -> RequestError:
    return RequestError(413, f"the file is larger than the limit of {megabytes(max_bytes)}; "
                             f"upload a smaller photo (a phone photo saved at a lower "
                             f"resolution is plenty: the model sees a few hundred pixels)")


async def read_body(request: Request, limit: int, too_large: RequestError) -> bytes:
    """The request's body, or ``too_large`` once more than ``limit`` bytes arrive.

    A declared ``Content-Length`` over the limit is refused at once when it is beyond what
    we are willing to drain; otherwise the rest of the body is read and dropped first.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + DRAIN_BYTES:
        raise too_large
    body, total = bytearray(), 0
    async for chunk in request.stream():
        total += len(chunk)
        if total <= limit:
            body += chunk
        elif total > limit + DRAIN_BYTES:
            break
    if total > limit:
        raise too_large
    return bytes(body)


async def read_upload(request: Request, max_bytes: int) -> tuple[bytes, str]:
    """The bytes and name of the multipart field ``file``; raises :class:`RequestError`."""
    too_large = _too_large(max_bytes)
    body = await read_body(request, max_bytes + ENVELOPE_BYTES, too_large)
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise RequestError(400, f"no file: send the photo as multipart/form-data with the "
                                f"field 'file' (got content type {kind or 'none'!r}), e.g. "
                                f"curl -F file=@photo.jpg URL/api/predict")
    sent = False

    async def replay() -> dict:  # the body we already read, handed to Starlette's parser once
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
    except Exception as err:  # noqa: BLE001 - python-multipart fails in several ways
        raise RequestError(400, f"the upload could not be read as multipart/form-data "
                                f"({err}); send the photo as the field 'file'") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestError(400, "no file: choose a photo and send it as the multipart "
                                    "field 'file'")
        data = await upload.read()
        name = upload.filename or "the upload"
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise too_large
    if not data:
        raise RequestError(400, f"{name} is empty (0 bytes); choose the photo again, or check "
                                f"that it downloaded completely")
    return data, name


async def read_url_request(request: Request) -> str:
    """The ``url`` of a JSON body ``{"url": "https://..."}``; raises :class:`RequestError`."""
    how = 'send JSON like {"url": "https://example.com/bear.jpg"}'
    body = await read_body(request, MAX_JSON_BYTES,
                           RequestError(413, f"the request is over {MAX_JSON_BYTES} bytes; "
                                             f"{how}"))
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, f"the body is not JSON; {how}") from None
    url = payload.get("url") if isinstance(payload, dict) else None
    if not isinstance(url, str) or not url.strip():
        raise RequestError(400, f"no URL given; {how}")
    return url.strip()


def read_image(data: bytes, max_pixels: int, name: str = "the file") -> Image.Image:
    """``data`` decoded as an upright 8-bit RGB picture; raises :class:`RequestError`.

    The pixel count is checked from the header, before decoding (a decompression bomb);
    truncated or damaged files and other formats are refused with what to do.
    """
    if not data:
        raise RequestError(400, f"{name} is empty (0 bytes); choose the photo again")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise _bomb(name, width, height, max_pixels)
            img.load()
            return to_rgb(ImageOps.exif_transpose(img))
    except RequestError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own, far higher limit
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        raise _bomb(name, int(pixels.group(1)) if pixels else 0, 1, max_pixels) from None
    except UnidentifiedImageError:
        raise RequestError(415, f"{name} is not a picture in a format the server reads "
                                f"({', '.join(FORMATS)}); send a "
                                f"photo, e.g. a .jpg or .png file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise RequestError(400, f"{name} is damaged or truncated ({err or type(err).__name__})"
                                f"; download or copy the photo again, or open it in an image "
                                f"viewer to check it") from None


def _bomb(name: str, width: int, height: int, max_pixels: int) -> RequestError:
    """``width × height`` is too many pixels (``height`` 1: only the count is known)."""
    shape = f"{width} × {height} = " if height > 1 else ""
    size = f" ({shape}{width * height / 1e6:.3g} MP)" if width else ""
    return RequestError(413, f"{name} has too many pixels{size}: the limit is "
                             f"{max_pixels / 1e6:g} MP; scale the picture down (the model "
                             f"sees a few hundred pixels) and send it again")
