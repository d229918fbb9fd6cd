"""Finding and parsing gin config files, the same way for the command line, the Python API, grids and
the SB3 backend: a path as given, or relative to jaxpcc's configs/ (in a checkout or an installed copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from jaxpcc.paths import config_dir
from jaxpcc.user_error import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = config_dir()  # the checkout's configs/, or the installed package's copy of it
DEFAULT_CONFIG = "default.gin"  # these three relative to CONFIG_DIR
DEFAULT_RECURRENT_CONFIG = "test/template_recurrent_100k.gin"
DEFAULT_IMAGE_CONFIG = "test/template_cnn.gin"


def resolve_config(path: Optional[str], algo: str) -> Path:
    """Finds the gin file as given, relative to the repository root, or relative to configs/.

    A leading "configs/" also resolves in an installed copy, where configs/ lives in the package.
    """
    if path is None:
        from jaxpcc.agents import RECURRENT_ALGOS, IMAGE_ALGOS

        path = DEFAULT_RECURRENT_CONFIG if algo in RECURRENT_ALGOS else DEFAULT_IMAGE_CONFIG if algo in IMAGE_ALGOS else DEFAULT_CONFIG
    inside = path[len("configs/"):] if path.startswith("configs/") else path
    candidates = list(dict.fromkeys([Path(path), REPO_ROOT / path, CONFIG_DIR / inside]))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise UserError(f"config '{path}' not found; tried: {tried}")


def register_configurables() -> None:
    """Imports every module with a gin configurable, so that any binding can be parsed.

    The loop is not among them: its callers import it after gin's config is locked, so it must
    bring no configurable of its own (its `train.*` settings are `schedule`'s).
    """
    import jaxpcc.agents  # noqa: F401
    import jaxpcc.device_rollout  # noqa: F401
    import jaxpcc.persistence.earlier_checkpoints  # noqa: F401
    import jaxpcc.replay  # noqa: F401
    import jaxpcc.schedule  # noqa: F401
    import jaxpcc.tensorboard_log  # noqa: F401


def parse_gin(config: Path, bindings: Sequence[str]) -> None:
    """Parses `config` and then `bindings` into a fresh gin config; a bad file or binding is a UserError."""
    import gin

    from jaxpcc.gin_names import parse_config_file_and_bindings

    register_configurables()
    gin.clear_config()
    try:
        parse_config_file_and_bindings(config, bindings)  # reads the reference's module-prefixed names too
    except (ValueError, KeyError, SyntaxError, IOError) as err:
        raise UserError(f"bad gin configuration ({config.name} + --gin_param): {err}") from err
