"""A student's solutions file, imported as a Python module.

One loader for everything that runs a student's code: ``sgdlab check`` (through
:func:`sgdlab.exercises.solutions.load_solutions`) and training with ``--impl``
(:mod:`sgdlab.vision.impl`). The file is imported under a private module name, so a file
called ``torch.py`` or ``sgdlab.py`` shadows nothing; every way the import can fail becomes an
:class:`~sgdlab.errors.SgdlabError` that names the file and the line and says what to do.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from sgdlab.errors import SgdlabError


def module_name(path: Path) -> str:
    """The private name a solutions file is imported under: ``sgdlab_solutions_my_sgd``."""
    return "sgdlab_solutions_" + "".join(c if c.isalnum() else "_" for c in path.stem)


def load_python_file(path: str | os.PathLike) -> ModuleType:
    """Import the Python file at ``path`` and return the module.

    Raises:
        SgdlabError: the file is missing, has a syntax error or fails while importing; the
            message names the file and line and says what to do.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise SgdlabError(f"no solutions file at {path}; write the template with "
                          f"`sgdlab exercises init {path}`")
    name = module_name(path)
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except SyntaxError as err:
        del sys.modules[name]
        raise SgdlabError(
            f"{path} has a syntax error on line {err.lineno}: {err.msg}\n"
            f"    {(err.text or '').strip()}\nfix that line and run the check again"
        ) from None
    except Exception as err:
        del sys.modules[name]
        lines = [f.lineno for f in traceback.extract_tb(err.__traceback__)
                 if Path(f.filename) == path]
        where = f" on line {lines[-1]}" if lines else ""
        raise SgdlabError(
            f"importing {path} failed{where}: {type(err).__name__}: {err}\n"
            f"code at the top level of the file runs on import; keep it inside the functions"
        ) from None
    return module
