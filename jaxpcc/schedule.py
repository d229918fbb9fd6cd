"""A run's schedule: how many epochs and steps, when updates start and how often they come."""

from __future__ import annotations

import dataclasses

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
