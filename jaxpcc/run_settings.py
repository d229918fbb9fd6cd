"""A run's settings, fixed at its first epoch: recorded with the checkpoint, compared on every rerun.

The record is every gin binding in force (macros resolved to their values), plus the training
schedule as it runs (defaults included): "SAC.lr" -> "0.0003", "train.num_epochs" -> "10". The
first checkpoint stores it; a rerun with any other value is refused with the differences listed,
before anything in the folder changes. A user who means a change (a lower learning rate after a
divergence) names it with `accept_change`; `train.num_epochs`, which only says where the run
stops, may be raised (or lowered) without it. Every change is recorded in the checkpoint's
settings history. `config.gin` and `operative_config.gin` are written once, with
the first checkpoint, and never rewritten.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Iterable, Mapping

import gin
from gin import config_parser

from jaxpcc.persistence.checkpoint import CheckpointError

# Bindings that change no result, so a rerun may change them freely (and unrecorded).
NOT_SETTINGS = frozenset({"earlier_checkpoints.keep"})
# Settings that only say where the run stops: changed without asking, and recorded in the history.
EXTENDABLE = frozenset({"train.num_epochs"})
CONFIG_NAME = "config.gin"
OPERATIVE_CONFIG_NAME = "operative_config.gin"


class SettingsChanged(CheckpointError):
    """A rerun whose settings differ from those the run was started with (and were not accepted)."""


def current_settings(schedule: Mapping[str, object]) -> dict[str, str]:
    """{binding name: value text} of everything gin binds now, and `train.<name>` of the schedule."""
    statements = list(config_parser.ConfigParser(gin.config_str(), gin.config.ParserDelegate(skip_unknown=True)))
    bindings = [s for s in statements if isinstance(s, config_parser.BindingStatement)]
    macros = {_name(s.scope, s.selector): repr(s.value) for s in bindings if not s.arg_name}
    settings = {}
    for s in bindings:
        if s.arg_name and f"{_name(s.scope, s.selector)}.{s.arg_name}" not in NOT_SETTINGS:
            text = repr(s.value)
            while text.startswith("%") and text[1:] in macros and macros[text[1:]] != text:
                text = macros[text[1:]]
            settings[f"{_name(s.scope, s.selector)}.{s.arg_name}"] = text
    settings.update({f"train.{name}": repr(value) for name, value in schedule.items()})
    return dict(sorted(settings.items()))


def _name(scope: str, selector: str) -> str:
    return f"{scope}/{selector}" if scope else selector


def differences(stored: Mapping[str, str], current: Mapping[str, str]) -> dict[str, list]:
    """{name: [stored value, current value]}; a side without the binding reads as None (the default)."""
    names = sorted(set(stored) | set(current))
    return {n: [stored.get(n), current.get(n)] for n in names if stored.get(n) != current.get(n)}


def reconcile(run_dir: Path, meta: Mapping, current: Mapping[str, str], accepted: Iterable[str]) -> list[dict]:
    """The run's settings history after this rerun; raises SettingsChanged for unaccepted differences.

    Args:
      meta: the checkpoint's metadata ("settings", "settings_history"); a checkpoint written before
        settings were recorded adopts the current ones.
      accepted: names the user allows to change (`--accept_change`).
    """
    history = list(meta.get("settings_history", []))
    if "settings" not in meta:
        return history
    changed = differences(meta["settings"], current)
    refused = [n for n in changed if n not in set(accepted) | EXTENDABLE]
    if refused:
        listed = "; ".join(f"{n}: {_show(changed[n][0])} -> {_show(changed[n][1])}" for n in refused)
        flags = " ".join(f"--accept_change {n}" for n in refused)
        raise SettingsChanged(
            f"{run_dir} was started with other settings ({listed}); nothing was changed. Rerun with the run's "
            f"settings (see its {CONFIG_NAME}), or continue with the new values: {flags}"
        )
    if changed:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        history.append({"step": int(meta["progress"]["step"]), "time": now, "changes": changed})
    return history


def _show(value) -> str:
    return "(unset)" if value is None else value


def write_config_files(run_dir: Path) -> None:
    """config.gin and operative_config.gin, each written once (atomically) when the run starts."""
    for name, text in ((CONFIG_NAME, gin.config_str()), (OPERATIVE_CONFIG_NAME, gin.operative_config_str())):
        write_text_atomic(Path(run_dir) / name, text)


def write_text_atomic(path: Path, text: str) -> None:
    """Replaces `path` with `text` through a temporary file; on failure the temporary file is removed."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:
            raise OSError(err.errno, f"{err.strerror or err} (while writing {path})", str(path)) from err
        raise
