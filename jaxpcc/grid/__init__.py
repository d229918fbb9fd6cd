"""Experiment grids: many runs of `main.py` from one data file, locally or on a Ray cluster, and their report.

    python main.py grid run configs/grids/report-pendulum.toml --dry-run
    python main.py grid run configs/grids/report-pendulum.toml            # local workers, one per core
    python main.py grid run configs/grids/report-pendulum.toml --ray auto # an existing Ray cluster
    python main.py grid report configs/grids/report-pendulum.toml

Modules: `spec` reads grid files, `plan` turns them into runs with their status and command,
`local` and `ray_backend` execute them, `progress` shows the grid, `report` writes tables and
figures, `cli` is the command line. Every run is a subprocess `main.py --env --algo --config
--run_id` (or the SB3 backend's equivalent), so the grid code never imports the training loop.
"""
