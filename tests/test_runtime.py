"""Start-up settings: importing jaxpcc starts no JAX backend, so the CLI can still choose CPU dispatch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **env) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", **env},
    )
    return result.stdout.strip()


def test_importing_the_package_starts_no_backend():
    code = (
        "import jaxpcc.cli, jaxpcc.train, jaxpcc.agents, jaxpcc.envs\n"
        "from jax._src import xla_bridge\n"
        "print(xla_bridge.backends_are_initialized())"
    )
    assert _python(code) == "False"


def test_configure_makes_cpu_dispatch_synchronous_unless_asked_not_to():
    code = (
        "import jax\n"
        "from jaxpcc import runtime\n"
        "runtime.configure()\n"
        "jax.numpy.ones(2).block_until_ready()\n"
        "print(jax.config.read('jax_cpu_enable_async_dispatch'), runtime.use_synchronous_cpu_dispatch())"
    )
    assert _python(code, JAXPCC_COMPILATION_CACHE="0") == "False True"
    assert _python(code, JAXPCC_COMPILATION_CACHE="0", JAXPCC_CPU_ASYNC_DISPATCH="1") == "True False"
