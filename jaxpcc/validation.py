"""Settings that cannot work are refused before a run starts, each in one sentence.

A run that cannot learn (no epochs, no steps, batches larger than the buffer, a learning rate
that is not a positive number, a width of zero, a quoted string where a number belongs) should
fail at once with the setting's name, not train for hours, crash mid-way or exit 0 with nothing.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import numbers
from typing import Any, Mapping

import gin


class InvalidSetting(ValueError):
    """A configured value that cannot work; the message names the setting and the value."""


# train.<name>: the smallest value that works.
_SCHEDULE_MINIMUM = {
    "num_epochs": 1,
    "num_steps_per_epoch": 1,
    "num_test_episodes_per_epoch": 0,
    "update_after": 0,
    "update_every": 1,
}
_BUFFERS = ("ReplayBuffer", "RecurrentReplayBuffer")
_UNIT_INTERVAL = ("gamma", "polyak")


def check_schedule(schedule: Mapping[str, Any]) -> None:
    """train.*: whole numbers at or above their minimum."""
    for name, minimum in _SCHEDULE_MINIMUM.items():
        if name in schedule:
            _integer(f"train.{name}", schedule[name], minimum)


def check_bindings(settings: Mapping[str, str]) -> None:
    """Buffer sizes and network widths from the run's settings record (`run_settings.current_settings`)."""
    for buffer in _BUFFERS:
        capacity = _literal(settings, f"{buffer}.capacity")
        batch_size = _literal(settings, f"{buffer}.batch_size")
        if capacity is not None:
            _integer(f"{buffer}.capacity", capacity, 1)
        if batch_size is not None:
            _integer(f"{buffer}.batch_size", batch_size, 1)
        if buffer == "ReplayBuffer":
            capacity = 1_000_000 if capacity is None else capacity
            if batch_size is not None and batch_size > capacity:
                raise InvalidSetting(
                    f"{buffer}.batch_size = {batch_size} is larger than {buffer}.capacity = {capacity}: "
                    "no batch could ever be sampled, so the run would never update"
                )
    widths = _literal(settings, "make_MLP.hidden_dimensions")
    if widths is not None:
        _widths("make_MLP.hidden_dimensions", widths)


def check_agent_config(config, name: str) -> None:
    """An agent's hyper-parameters: numbers where the defaults are numbers, positive learning rates,
    discounts and Polyak factors in [0, 1], positive widths (nested configs included)."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        setting = f"{name}.{field.name}"
        if dataclasses.is_dataclass(value):
            check_agent_config(value, setting)
            continue
        default = field.default
        if _is_number(default) and not _is_number(value):
            raise InvalidSetting(f"{setting} must be a number, got {value!r}" + _quoted_hint(value))
        if isinstance(default, numbers.Integral) and not isinstance(default, bool):
            positive = field.name.startswith("num_") or field.name.endswith(("_dim", "_delay"))
            _integer(setting, value, 1 if positive else 0)
        elif field.name == "hidden_sizes" or field.name.endswith("_sizes"):
            _widths(setting, value)
        elif _is_number(value) and (field.name == "lr" or field.name.endswith("_lr")):
            if not (math.isfinite(value) and value > 0):
                raise InvalidSetting(f"{setting} must be a positive learning rate, got {value!r}")
        elif _is_number(value) and field.name in _UNIT_INTERVAL and not 0 <= value <= 1:
            raise InvalidSetting(f"{setting} must lie in [0, 1], got {value!r}")


def gin_name(config) -> str:
    """The gin name of a config's class ("RecurrentSAC" for RSACConfig), for messages that say what to bind.

    gin has no public reverse lookup; its registry's is used when present, the class name otherwise.
    """
    lookup = getattr(gin.config, "_inverse_lookup", None)
    found = lookup(type(config)) if lookup is not None else None
    return getattr(found, "name", None) or type(config).__name__


def check_count(name: str, value: Any, minimum: int) -> None:
    """A command-line count (episodes, run ids): a whole number at or above `minimum`."""
    _integer(name, value, minimum)


def _integer(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidSetting(f"{name} must be a whole number, got {value!r}" + _quoted_hint(value))
    if value < minimum:
        raise InvalidSetting(f"{name} must be at least {minimum}, got {value}")


def _widths(name: str, value: Any) -> None:
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in value
    ):
        raise InvalidSetting(f"{name} must be a tuple of positive whole numbers (layer widths), got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _quoted_hint(value: Any) -> str:
    return " (a quoted string: drop the quotes)" if isinstance(value, str) else ""


def _literal(settings: Mapping[str, str], name: str) -> Any:
    text = settings.get(name)
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a reference (@fn) or expression: left for the code that uses it
