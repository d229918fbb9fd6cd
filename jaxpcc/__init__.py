"""jaxpcc: off-policy deep RL for continuous control in JAX.

The Python API (`train`, `train_together`, `load_policy`, `Run`, `Policy`; see jaxpcc.api) is imported on first use, so that
`import jaxpcc` stays cheap and computes nothing with JAX (start-up settings such as those of
`jaxpcc.runtime` must come before JAX's first computation).
"""

__version__ = "0.1.0"

_API = ("train", "train_together", "load_policy", "Run", "Policy")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from jaxpcc import api

        return getattr(api, name)
    raise AttributeError(f"module 'jaxpcc' has no attribute '{name}'")
