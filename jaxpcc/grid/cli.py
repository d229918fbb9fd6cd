"""`main.py grid run FILE` and `main.py grid report FILE` (also `python -m jaxpcc.grid ...`).

Exit status: 0 when every run of the grid has finished, 1 when some failed (their logs are
listed), 2 for a bad grid file or config, 130 when interrupted (rerun the command to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from jaxpcc.extras import report_missing_extra
from jaxpcc.grid.spec import GridError, load_grid


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py grid", description="Run experiment grids and report them.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train every run of a grid (finished runs are skipped, unfinished ones resume)")
    run.add_argument("grid", type=Path, help="grid file (TOML), e.g. configs/grids/report-pendulum.toml")
    run.add_argument("--results_dir", type=Path, default=Path("results"), help="runs go to RESULTS_DIR/ENV/ALGO/RUN_ID")
    run.add_argument("--dry-run", action="store_true", help="print the runs, their commands and an estimate of their cost")
    run.add_argument("--detail", action="store_true", help="also show each running run's steps")
    local = run.add_argument_group("local backend (default)")
    local.add_argument("--workers", type=int, default=None, help="parallel runs, one per core by default")
    local.add_argument("--gpus", default=None, help="comma-separated GPU ids, e.g. 0,1,2,3: runs go to GPUs instead of cores")
    local.add_argument("--runs-per-gpu", type=int, default=1, help="runs sharing each GPU (each gets that share of its memory)")
    ray = run.add_argument_group("Ray backend")
    ray.add_argument("--ray", metavar="ADDRESS", default=None, help="submit to this Ray cluster ('auto' or HOST:PORT)")
    ray.add_argument("--cpus-per-run", type=float, default=1.0, help="Ray CPU request per run")
    ray.add_argument("--gpus-per-run", type=float, default=0.0, help="Ray GPU request per run (fractions share a GPU)")
    ray.add_argument("--max-retries", type=int, default=3, help="Ray retries of a run whose node died")
    report = sub.add_parser("report", help="table (Markdown, CSV) and figures (PNG, SVG) of a grid's runs")
    report.add_argument("grid", type=Path)
    report.add_argument("--results_dir", type=Path, default=Path("results"))
    report.add_argument("--out", type=Path, default=None, help="folder for the report (default RESULTS_DIR/reports)")
    report.add_argument("--stat", default="Episode Return (Test)", help="the progress.csv column to report")
    report.add_argument("--title", default=None, help="figure and table title (default: the grid's name)")
    return parser


def run_grid(args: argparse.Namespace) -> int:
    from jaxpcc.grid import plan
    from jaxpcc.grid.progress import GridProgress

    grid = load_grid(args.grid)
    if args.workers is not None and args.workers < 1 or args.runs_per_gpu < 1:
        raise GridError("--workers and --runs-per-gpu must be at least 1")
    budgets = plan.read_budgets(grid.runs)
    statuses = {run: plan.run_status(args.results_dir, run, budgets[run]) for run in grid.runs}
    if args.ray is None:
        from jaxpcc.grid import local

        slots = local.gpu_slots(args.gpus.split(","), args.runs_per_gpu) if args.gpus else local.cpu_slots(args.workers)
        workers = len(slots)
    else:
        workers = 0
    if args.dry_run:
        print(plan.describe(args.results_dir, grid.runs, budgets, workers or 1))
        return 0
    todo = [run for run in grid.runs if statuses[run].state != "finished"]
    print(f"grid {grid.name}: {len(grid.runs)} runs, {len(grid.runs) - len(todo)} already finished, {len(todo)} to run")
    with GridProgress(args.results_dir, budgets, statuses, detail=args.detail) as progress:
        if args.ray is None:
            ok = local.run_all(todo, args.results_dir, slots, progress)
        else:
            from jaxpcc.grid import ray_backend

            ok = ray_backend.run_all(todo, args.results_dir, progress, args.ray, args.cpus_per_run,
                                     args.gpus_per_run, args.max_retries)
    return 0 if ok else 1


def report_grid(args: argparse.Namespace) -> int:
    from jaxpcc.grid import plan, report

    grid = load_grid(args.grid)
    budgets = plan.read_budgets(grid.runs)
    out = args.out or args.results_dir / "reports"
    for path in report.write_report(grid, args.results_dir, budgets, out, args.stat, args.title):
        print(path)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_grid(args) if args.command == "run" else report_grid(args)
    except GridError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ImportError as err:  # --ray without the cluster extra, report without the plot extra
        return report_missing_extra(err)
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same grid command to resume (finished runs are skipped)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
