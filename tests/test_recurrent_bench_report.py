"""The learning benchmark's report of runs logged so far (runs that span sessions): curves, partial seeds."""

from pathlib import Path

from benchmarks.recurrent import print_curves, read_curve

HEADER = "Epoch,Timesteps,Episode Return (Train),Episode Return (Test),Hours\n"


def write_progress(run_dir: Path, returns: list[float]) -> None:
    run_dir.mkdir(parents=True)
    rows = [f"{i + 1},{1000 * (i + 1)},0.0,{ret},{0.5 * (i + 1)}\n" for i, ret in enumerate(returns)]
    (run_dir / "progress.csv").write_text(HEADER + "".join(rows))


def test_read_curve_gives_steps_returns_and_hours(tmp_path):
    write_progress(tmp_path / "1", [-1200.0, -800.5])
    assert read_curve(tmp_path / "1") == ([(1000, -1200.0), (2000, -800.5)], 1.0)
    assert read_curve(tmp_path / "missing") == ([], 0.0)


def test_report_averages_epochs_every_seed_reached_and_lists_the_rest(tmp_path, capsys):
    write_progress(tmp_path / "1", [-1200.0, -800.0, -400.0])
    write_progress(tmp_path / "2", [-1000.0, -600.0])
    curves = {seed: read_curve(tmp_path / str(seed))[0] for seed in (1, 2)}
    print_curves("pendulum-v-v0", "rsac", curves, "1.0 min")
    out = capsys.readouterr().out
    assert "   1000    -1100.0 +-  100.0 | -1200.0 -1000.0" in out
    assert "   2000     -700.0 +-  100.0 |  -800.0  -600.0" in out
    assert "3000" not in out.split("seed 1 further")[0]  # seed 2 has not reached epoch 3
    assert "seed 1 further: 3000: -400.0" in out
