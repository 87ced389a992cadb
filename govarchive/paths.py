"""Where the default archive lives: ``data/`` of the project, wherever inside it a command is run.

``scrapy crawl`` finds the project by walking up from the working directory to ``scrapy.cfg``; the default
archive is resolved the same way, so running it (or ``govarchive``) from a subdirectory uses the project's
``data/archive.db`` instead of creating a stray ``data/`` there. Outside a project (an installed package, a
scrapyd egg) the default stays relative to the working directory. ``$GOVARCHIVE_DB`` and ``--db`` always win.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: str | Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: the working directory) holding ``scrapy.cfg``."""
    here = Path(start or os.getcwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "scrapy.cfg").is_file():
            return directory
    return None


def default_path(relative: str) -> str:
    """``relative`` (e.g. ``data/archive.db``) under the project root; as given when the root is the working
    directory or there is no project."""
    root = project_root()
    if root is None or root == Path.cwd().resolve():
        return relative
    return str(root / relative)
