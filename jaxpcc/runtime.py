"""Process-wide JAX settings for RL training, applied once at start-up by the CLI and benchmarks.

An off-policy loop alternates one tiny jitted call (acting on one observation) with Python work
(the env step), then one large call (a block of updates). Two settings suit that pattern:

- **Synchronous CPU dispatch.** With JAX's default asynchronous dispatch on CPU, every call is
  handed to a worker thread and the Python thread waits for it to come back; for a call that
  takes tens of microseconds, that hand-off and wake-up costs more than the call itself. The
  loop blocks on every action anyway, so nothing overlaps: running calls on the calling thread
  cut the acting cost per env step from about 210 to about 90 microseconds on the 2-core CPU
  box (TD3, Pendulum). GPU dispatch is not affected.
- **A persistent compilation cache**, so a rerun or a resumed run starts without recompiling.

Both must be set before JAX creates its backends (the first computation), hence a function to
call at start-up rather than settings applied on import.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax

log = logging.getLogger(__name__)


def use_synchronous_cpu_dispatch() -> bool:
    """Runs CPU computations on the calling thread; returns whether the setting took effect.

    JAXPCC_CPU_ASYNC_DISPATCH=1 keeps JAX's asynchronous default. Has no effect (and says so in
    the log) once a JAX backend exists, since the CPU client reads it when it is created.
    """
    if os.environ.get("JAXPCC_CPU_ASYNC_DISPATCH", "0") == "1":
        return False
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        asynchronous = jax.config.read("jax_cpu_enable_async_dispatch")
        log.info("JAX backends already exist; CPU dispatch stays %s", "asynchronous" if asynchronous else "synchronous")
        return not asynchronous
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    return True


def enable_compilation_cache() -> None:
    """Keeps compiled XLA programs on disk (JAXPCC_COMPILATION_CACHE sets the folder; "0" turns it off)."""
    location = os.environ.get("JAXPCC_COMPILATION_CACHE", str(Path.home() / ".cache" / "jaxpcc" / "xla"))
    if location == "0":
        return
    jax.config.update("jax_compilation_cache_dir", location)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def configure() -> None:
    """Both settings above; call before the first JAX computation of the process."""
    use_synchronous_cpu_dispatch()
    enable_compilation_cache()
