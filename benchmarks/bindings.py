"""The benchmarks' training runs go through the Python API (`jaxpcc.train`), which reads gin files."""

from __future__ import annotations

import textwrap
from pathlib import Path


def config_file(text: str, directory: Path, name: str = "bench.gin") -> str:
    """Writes the gin bindings `text` to directory/name and returns its path (for `config=`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return str(path)
