"""The grid report on a small synthetic results tree: exact table values, figures written, partial runs marked."""

import csv
from pathlib import Path

from jaxpcc.grid import report
from jaxpcc.grid.plan import Budget
from jaxpcc.grid.spec import load_grid
from jaxpcc.persistence import checkpoint

BUDGET = Budget(num_epochs=3, steps_per_epoch=1000, update_after=100)
GRID = """\
name = "synthetic"

[[runs]]
env = "envA"
algo = ["sac", "td3"]
config = "configs/test/template_short.gin"
run_ids = [1, 2]

[[runs]]
env = "envB"
algo = "sac"
config = "configs/test/template_short.gin"
run_ids = [1]
"""


def write_run(results: Path, env: str, algo: str, run_id: int, returns: list[float], checkpoint_epoch=None) -> None:
    folder = results / env / algo / str(run_id)
    folder.mkdir(parents=True)
    with open(folder / "progress.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Epoch", "Timesteps", "Episode Return (Train)", "Episode Return (Test)"])
        for epoch, value in enumerate(returns, start=1):
            writer.writerow([epoch, 1000 * epoch, "nan", value])
    if checkpoint_epoch is not None:
        checkpoint.save(folder / "checkpoint.npz", {}, {"progress": {"epoch": checkpoint_epoch, "step": 1000 * checkpoint_epoch}})


def synthetic(tmp_path: Path):
    results = tmp_path / "results"
    write_run(results, "envA", "sac", 1, [-500, -300, -200], checkpoint_epoch=3)
    write_run(results, "envA", "sac", 2, [-700, -100, -400], checkpoint_epoch=3)
    write_run(results, "envA", "td3", 1, [-900], checkpoint_epoch=1)  # unfinished; td3 run 2 never started
    write_run(results, "envB", "sac", 1, [-10, -20, -5])  # copied out of its tree: no checkpoint, all epochs logged
    (tmp_path / "grid.toml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.toml")
    return grid, results, {run: BUDGET for run in grid.runs}


def test_table_values(tmp_path):
    grid, results, budgets = synthetic(tmp_path)
    rows = report.table_rows(report.collect(grid, results, budgets))
    assert rows == [
        {"env": "envA", "algo": "sac", "runs finished": "2/2", "env steps reached": 3000,
         "final return": -300.0, "final std": 100.0, "best return": -150.0, "best std": 50.0},
        {"env": "envA", "algo": "td3", "runs finished": "0/2", "env steps reached": 500,
         "final return": -900.0, "final std": 0.0, "best return": -900.0, "best std": 0.0},
        {"env": "envB", "algo": "sac", "runs finished": "1/1", "env steps reached": 3000,
         "final return": -5.0, "final std": 0.0, "best return": -5.0, "best std": 0.0},
    ]


def test_report_files(tmp_path):
    grid, results, budgets = synthetic(tmp_path)
    paths = report.write_report(grid, results, budgets, tmp_path / "out")
    assert [p.name for p in paths] == ["synthetic.md", "synthetic.csv", "synthetic.png", "synthetic.svg"]
    md = (tmp_path / "out" / "synthetic.md").read_text()
    assert "| envA | sac | 2/2 | 3,000 | -300.0 +- 100.0 | -150.0 +- 50.0 |" in md
    assert "| envA | td3 | 0/2* | 500 | -900.0 +- 0.0 | -900.0 +- 0.0 |" in md
    assert "| envB | sac | 1/1 | 3,000 | -5.0 +- 0.0 | -5.0 +- 0.0 |" in md
    with open(tmp_path / "out" / "synthetic.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert table[0] == {"env": "envA", "algo": "sac", "runs finished": "2/2", "env steps reached": "3000",
                        "final return": "-300", "final std": "100", "best return": "-150", "best std": "50"}
    assert (tmp_path / "out" / "synthetic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "out" / "synthetic.svg").read_text()
    assert "<svg" in svg and "envA" in svg and "envB" in svg
    assert "td3 (1 run, 2 unfinished)" in svg and "sac (2 runs)" in svg


def test_report_command_on_a_partial_grid(tmp_path, capsys):
    from jaxpcc.grid.cli import main

    grid, results, _ = synthetic(tmp_path)
    # Through the command line the budget comes from the config: template_short's 20 epochs, so no run is finished.
    assert main(["report", str(tmp_path / "grid.toml"), "--results_dir", str(results), "--out", str(tmp_path / "r")]) == 0
    md = (tmp_path / "r" / "synthetic.md").read_text()
    assert "| envA | sac | 0/2* | 3,000 |" in md and "| envB | sac | 0/1* | 3,000 |" in md
    assert str(tmp_path / "r" / "synthetic.png") in capsys.readouterr().out


def test_progress_counts_steps_and_failed_logs(tmp_path):
    from rich.console import Console

    from jaxpcc.grid.plan import RunStatus
    from jaxpcc.grid.progress import GridProgress, steps_reached

    grid, results, budgets = synthetic(tmp_path)
    statuses = {run: RunStatus("waiting") for run in grid.runs}
    statuses[grid.runs[0]] = RunStatus("finished", 3, 3000)
    console = Console(file=open(tmp_path / "out.txt", "w"), width=200)
    progress = GridProgress(results, budgets, statuses, detail=True, console=console)
    assert steps_reached(results / "envA" / "sac" / "2" / "progress.csv") == 3000
    progress.started(grid.runs[1], "cpu 1")  # envA sac 2: 3000 steps already logged
    progress.started(grid.runs[2], "cpu 0")  # envA td3 1: 1000
    progress.poll()
    progress.ended(grid.runs[2], False, tmp_path / "td3.log", "exit status 1")
    assert progress.counts() == {"done": 1, "running": 1, "failed": 1, "waiting": 2}
    # Left: the running and waiting runs' budgets less their steps: (3000 - 3000) + 3000 + 3000.
    assert "1 done, 1 running, 1 failed, 2 waiting" in progress.summary() and "6,000 steps left" in progress.summary()
    assert [line.plain.split() for line in progress.render().renderables[1:]] == [["envA", "sac", "2", "3,000/3,000", "steps"]]
    progress.__exit__(None, None, None)
    console.file.close()
    text = (tmp_path / "out.txt").read_text()
    assert "start   envA sac 2 on cpu 1" in text and f"FAILED  envA td3 1 (exit status 1); log: {tmp_path / 'td3.log'}" in text


def test_the_committed_report_comes_back_from_its_committed_runs(tmp_path):
    """docs/reproduce's table is what the report command makes of the progress.csv files beside it
    (the runs finished: 'finished' is read from the logged epochs, the checkpoints not being committed)."""
    from jaxpcc.grid.cli import main

    measured = Path(__file__).resolve().parent.parent / "docs" / "reproduce"
    out = tmp_path / "report"
    argv = ["report", str(measured / "report-pendulum-reduced.toml"),
            "--results_dir", str(measured / "report-pendulum-reduced" / "runs"), "--out", str(out)]
    assert main(argv) == 0
    for suffix in (".md", ".csv"):
        name = "report-pendulum-reduced" + suffix
        assert (out / name).read_text() == (measured / "report-pendulum-reduced" / name).read_text()
    assert (out / "report-pendulum-reduced.png").stat().st_size > 0 and (out / "report-pendulum-reduced.svg").stat().st_size > 0
