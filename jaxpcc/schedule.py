"""A run's schedule: how many epochs and steps, when updates start and how often they come.

Its settings are gin's `train.*` (`train_schedule`), so registering them needs no import of the loop.
"""

from __future__ import annotations

import dataclasses

import gin

DEFAULT_UPDATE_EVERY = 1  # one gradient step per env step, in blocks of one


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The `train.*` settings of a run (field order is the order the settings record lists them)."""

    num_epochs: int
    num_steps_per_epoch: int
    update_after: int
    num_test_episodes_per_epoch: int
    update_every: int = DEFAULT_UPDATE_EVERY

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def total_steps(self, until_epoch: int | None = None) -> int:
        return (until_epoch or self.num_epochs) * self.num_steps_per_epoch


@gin.configurable("train")
def train_schedule(
    num_epochs: int = gin.REQUIRED,
    num_steps_per_epoch: int = gin.REQUIRED,
    num_test_episodes_per_epoch: int = gin.REQUIRED,
    update_after: int = gin.REQUIRED,
    update_every: int = DEFAULT_UPDATE_EVERY,
) -> Schedule:
    """The schedule of the `train.*` bindings; an argument given here wins over its binding.

    Args:
      num_epochs, num_steps_per_epoch: total env steps = their product.
      num_test_episodes_per_epoch: deterministic test episodes after each epoch.
      update_after: random actions and no updates before this many env steps.
      update_every: every `update_every` steps, `update_every` gradient steps (ratio 1:1).
    """
    return Schedule(num_epochs, num_steps_per_epoch, update_after, num_test_episodes_per_epoch, update_every)
