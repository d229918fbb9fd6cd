"""The loop-breakdown benchmark's timer: it observes the loop through its hook and sees every part."""

import gin

from benchmarks.loop_breakdown import PartTimer
from jaxpcc.loop import train
from jaxpcc.loop_observer import PARTS, SAMPLING, UPDATES
from small_run import SMALL


class CountingTimer(PartTimer):
    def __init__(self):
        super().__init__()
        self.calls, self.saved = {}, []

    def part_done(self, part, seconds):
        super().part_done(part, seconds)
        self.calls[part] = self.calls.get(part, 0) + 1

    def checkpoint_saving(self, run):
        self.saved.append(("saving", run.progress.step))

    def checkpoint_saved(self, run, state):
        assert run.checkpoint_path.is_file()
        self.saved.append(("saved", run.progress.step))


def test_the_timer_sees_each_part_of_every_step_and_each_checkpoint(tmp_path):
    gin.clear_config()
    gin.parse_config(SMALL + "train.num_epochs = 2\n")
    timer = CountingTimer()
    train("Pendulum-v0", "sac", tmp_path / "run", seed=1, quiet=True, observer=timer)
    # 400 steps: acting and env steps at each; 300 steps after update_after = 100, in blocks of 50
    assert timer.calls[PARTS[0]] == 400 and timer.calls[PARTS[1]] == 400
    assert timer.calls[SAMPLING] == timer.calls[UPDATES] == 6
    assert all(timer.seconds[part] > 0.0 for part in PARTS)
    assert timer.saved == [("saving", 200), ("saved", 200), ("saving", 400), ("saved", 400)]
