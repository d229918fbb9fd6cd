"""Shared set-up: the suite is isolated from the shell and the user's files, and gin is cleared around every test.

Whatever the shell exports, tests log nowhere (wandb disabled) and compile into a fresh temporary
folder, never the user's `~/.cache/jaxpcc/xla` (a stale or foreign cache there must not change
what the suite sees, and the suite must not fill it). Subprocesses inherit both settings.

The test process itself starts with the CLI's start-up settings (`runtime.configure`): every test
then runs as a user's run does, whichever test comes first (the first `jaxpcc.train` would
otherwise switch them on mid-session), and a program compiled once in the session, in this
process or a subprocess, is loaded from the cache folder instead of compiled again.
"""

import atexit
import os
import shutil
import tempfile

COMPILATION_CACHE = tempfile.mkdtemp(prefix="jaxpcc-test-xla-")
atexit.register(shutil.rmtree, COMPILATION_CACHE, ignore_errors=True)
os.environ["JAXPCC_COMPILATION_CACHE"] = COMPILATION_CACHE
os.environ["WANDB_MODE"] = "disabled"
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gin  # noqa: E402
import pytest  # noqa: E402

from jaxpcc import runtime  # noqa: E402

runtime.configure()


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()
