"""The suite is isolated from the shell and the user's files, and no subprocess of a test can hang CI."""

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# subprocess functions that wait for their child; each call must bound the wait
WAITING_CALLS = {"run", "call", "check_call", "check_output"}


def test_environment_is_isolated():
    cache = os.environ["JAXPCC_COMPILATION_CACHE"]
    assert Path(cache).is_dir() and Path(cache).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert not Path(cache).resolve().is_relative_to(Path.home() / ".cache")
    assert os.environ["WANDB_MODE"] == "disabled"


def test_the_shell_cannot_undo_the_isolation():
    """The check above, run by pytest under a shell that asks for online wandb and the user's cache."""
    env = {**os.environ, "WANDB_MODE": "online", "JAXPCC_COMPILATION_CACHE": str(Path.home() / ".cache" / "jaxpcc" / "xla")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::test_environment_is_isolated"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_waiting_subprocess_call_in_the_tests_has_a_timeout():
    missing = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WAITING_CALLS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                    and not any(k.arg == "timeout" for k in node.keywords)):
                missing.append(f"{path.name}:{node.lineno}")
    assert not missing, f"subprocess calls without a timeout: {missing}"
