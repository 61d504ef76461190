"""Running a web page of sgdlab's (the classifier app, the cleaner) on uvicorn.

Both bind 127.0.0.1 unless told otherwise, print the address to open, and stop cleanly on
Ctrl-C. Starlette and uvicorn come with the ``web`` extra (``pip install -e '.[web]'``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError

LOCAL_HOST = "127.0.0.1"


class WebExtraMissingError(SgdlabError):
    """Starlette, uvicorn or python-multipart is not installed."""


def require_web_extra() -> None:
    """Fail with what to install when the web app's packages are missing."""
    import importlib.util

    # the package to install -> the modules that provide it (python-multipart was `multipart`
    # before 0.0.13, and importing that name now warns)
    needed = {"starlette": ("starlette",), "uvicorn": ("uvicorn",),
              "python-multipart": ("python_multipart", "multipart"), "httpx": ("httpx",)}
    missing = [package for package, modules in needed.items()
               if not any(_importable(module, importlib.util.find_spec) for module in modules)]
    if missing:
        raise WebExtraMissingError(
            f"the web app needs {', '.join(missing)}, which are not installed; run "
            "pip install -e '.[web]' in the repository (the README's first command does it)")


def _importable(module: str, find_spec: Any) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_host(host: object) -> str:
    """``host`` as a bind address: an IP address or ``localhost``; 127.0.0.1 is the default."""
    if not isinstance(host, str) or not host:
        raise SgdlabError(f"--host must be an address such as {LOCAL_HOST}, got {host!r}")
    if host == "localhost":
        return host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise SgdlabError(
            f"--host {host!r} is not an IP address; use {LOCAL_HOST} (this machine only, the "
            "default) or 0.0.0.0 (every network this machine is on)") from None
    return host


def page_url(host: str, port: int) -> str:
    """The address a browser on this machine opens for a server bound to ``host:port``."""
    shown = LOCAL_HOST if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve(app: Any, host: str = LOCAL_HOST, port: int = 8000, what: str = "sgdlab",
          **uvicorn_options: Any) -> None:
    """Serve the ASGI ``app`` on ``host:port`` until Ctrl-C, after printing where to open it."""
    require_web_extra()
    import uvicorn

    host = check_host(host)
    port = check_whole_number(port, "--port", minimum=1)
    if port > 65535:
        raise SgdlabError(f"--port must be at most 65535, got {port}")
    print(f"{what}: open {page_url(host, port)} in a browser (Ctrl-C stops the server)",
          flush=True)
    if host not in (LOCAL_HOST, "localhost", "::1"):
        print(f"{what}: listening on {host}, so other machines on the network can reach it",
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options)
