"""Reads the budgets of grid runs from their gin configs, in a process of its own.

stdin: a JSON list of [config, [gin params]]; stdout: a JSON list of
[num_epochs, num_steps_per_epoch, update_after], one per query. A bad config exits with status
2 and the CLI's one-line message.
"""

from __future__ import annotations

import json
import sys

import gin

from jaxpcc.gin_files import parse_gin, resolve_config
from jaxpcc.user_error import UserError


def _value(name: str):
    value = gin.query_parameter(name)
    return value.scoped_configurable_fn() if isinstance(value, gin.config.ConfigurableReference) else value


def budget(config: str, params: list[str]) -> list[int]:
    parse_gin(resolve_config(config, ""), params)
    try:
        return [int(_value(f"train.{name}")) for name in ("num_epochs", "num_steps_per_epoch", "update_after")]
    except ValueError as err:
        raise UserError(f"{config}: the config leaves a train setting unbound ({err})") from err


def main() -> int:
    try:
        answers = [budget(config, params) for config, params in json.loads(sys.stdin.read())]
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
