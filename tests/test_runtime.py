"""Start-up settings: importing jaxpcc starts no JAX backend, so settings made after import still apply."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "JAX_PLATFORMS": "cpu", **env},
    )
    return result.stdout.strip()


def test_importing_the_package_starts_no_backend():
    code = (
        "import jaxpcc.cli, jaxpcc.loop, jaxpcc.agents, jaxpcc.envs\n"
        "from jax._src import xla_bridge\n"
        "print(xla_bridge.backends_are_initialized())"
    )
    assert _python(code) == "False"


def test_configure_sets_the_compilation_cache_folder_unless_switched_off(tmp_path):
    code = "import jax\nfrom jaxpcc import runtime\nruntime.configure()\nprint(jax.config.jax_compilation_cache_dir)"
    assert _python(code, JAXPCC_COMPILATION_CACHE=str(tmp_path)) == str(tmp_path)
    assert _python(code, JAXPCC_COMPILATION_CACHE="0") == "None"


def test_configure_makes_cpu_dispatch_synchronous():
    code = (
        "import jax, jax.numpy as jnp\nfrom jaxpcc import runtime\nruntime.configure()\n"
        "slow = jax.jit(lambda x: jax.lax.fori_loop(0, 200, lambda i, y: jnp.tanh(y @ y), x))\n"
        "x = jnp.ones((256, 256)) / 256\nslow(x).block_until_ready()\n"
        "print(jax.config.values[\"jax_cpu_enable_async_dispatch\"], slow(x).is_ready())"
    )
    assert _python(code, JAXPCC_COMPILATION_CACHE="0") == "False True"  # the call returns with its result computed
