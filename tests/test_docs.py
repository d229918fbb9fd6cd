"""The documentation cannot rot: every Python and shell block of README.md and docs/*.md runs, and no link leaves the repository.

Blocks run page by page, in order, in one fresh folder per page (so a page can write a file, train
a run and then load it), with `jaxpcc` on PATH as `python -m jaxpcc` of this checkout.
- ```python and ```bash blocks run; a page with a `<!-- slow -->` line before some block is slow-marked.
- A block after a `<!-- file: NAME -->` line is written to NAME instead of run (a module the page uses).
- ```console blocks, with `$ ` prompts, show commands that set up a machine (pip install, make) or
  run for minutes to hours (benchmarks); they are not run here. The install itself is checked by
  tests/test_install.py.
"""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUNNABLE = {"python", "bash", "sh", "shell"}
BLOCK = re.compile(r"(?P<note><!-- (?P<kind>slow|file: (?P<file>[\w./-]+)) -->\n)?```(?P<lang>[\w-]*)\n(?P<code>.*?)```", re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def blocks(page: Path) -> list[dict]:
    return [m.groupdict() for m in BLOCK.finditer(page.read_text())]


def page_param(page: Path):
    slow = any(b["kind"] == "slow" for b in blocks(page))
    return pytest.param(page, id=page.relative_to(REPO).as_posix(), marks=[pytest.mark.slow] if slow else [])


def shell_env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "_bin"
    bin_dir.mkdir()
    for name, body in (("jaxpcc", f'exec "{sys.executable}" -m jaxpcc "$@"\n'), ("python", f'exec "{sys.executable}" "$@"\n')):
        script = bin_dir / name
        script.write_text("#!/usr/bin/env bash\n" + body)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.parametrize("page", [page_param(p) for p in PAGES])
def test_code_blocks_run(page, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = shell_env(tmp_path)
    for number, block in enumerate(blocks(page), 1):
        if block["file"]:
            (work / block["file"]).write_text(block["code"])
            continue
        if block["lang"] not in RUNNABLE:
            continue
        argv = [sys.executable, "-c", block["code"]] if block["lang"] == "python" else ["bash", "-euo", "pipefail", "-c", block["code"]]
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{page.name} block {number} ({block['lang']}) failed:\n{block['code']}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_the_pages_have_runnable_blocks():
    """Guards the runner itself: the pages it must run are found and hold blocks it runs."""
    runnable = {p.name: sum(b["lang"] in RUNNABLE and not b["file"] for b in blocks(p)) for p in PAGES}
    for name in ("README.md", "structure.md", "gin.md", "custom_domain.md", "gpu.md"):
        assert runnable[name] > 0, name
    assert any(b["file"] == "point_goal.py" for b in blocks(REPO / "docs" / "custom_domain.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_links_stay_inside_the_repository(page):
    for target in LINK.findall(page.read_text()):
        assert "://" not in target, f"{page.name} links outside the repository: {target}"
        if target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{page.name} links outside the repository: {target}"
        assert path.exists(), f"{page.name} links to a missing file: {target}"
