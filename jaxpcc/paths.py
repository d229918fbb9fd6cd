"""Where jaxpcc's own files are, in a checkout and in an installed copy alike."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The gin files: jaxpcc/configs in an installed copy, the checkout's configs/ otherwise.

    The wheel carries the checkout's top-level configs/ as jaxpcc/configs (pyproject.toml); a
    checkout, or an editable install of one, reads them where they are.
    """
    installed = PACKAGE_DIR / "configs"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "configs"
