"""Grid files: experiments as env x algo x config x run ids, in TOML.

    name = "report-pendulum"          # the experiment (the report's name for it)
    gin_params = []                   # optional: extra gin bindings for every run

    [[runs]]                          # one entry per command of the experiment
    env = "pendulum-p-v0"             # a string, or a list (every combination is run)
    algo = ["sac", "rsac"]
    config = "configs/test/template_short.gin"
    run_ids = [1, 2, 3, 4]
    gin_params = ["train.num_epochs = 5"]   # optional: this entry's runs only

Every run lands where `main.py --env ENV --algo ALGO --run_id ID` puts it, RESULTS/ENV/ALGO/ID,
so two entries naming the same env, algo and run id are refused.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path
from jaxpcc.paths import config_dir

GRID_KEYS = {"name", "description", "gin_params", "runs"}
ENTRY_KEYS = {"env", "algo", "config", "run_ids", "gin_params"}


class GridError(Exception):
    """A grid file that cannot be used; reported in one line (exit status 2)."""


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a grid: what `main.py --env --algo --config --run_id` (+ --gin_param) trains."""

    env: str
    algo: str
    config: str
    run_id: int
    gin_params: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, int]:
        return self.env, self.algo, self.run_id

    @property
    def label(self) -> str:
        return f"{self.env} {self.algo} {self.run_id}"


@dataclasses.dataclass(frozen=True)
class Grid:
    name: str
    path: Path
    runs: tuple[RunSpec, ...]
    description: str = ""


def _strings(value, what: str, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise GridError(f"{where}: '{what}' must be a non-empty string or list of strings, got {value!r}")
    return values


def find_grid(path: str | Path) -> Path:
    """The grid file as given, or among jaxpcc's configs (`grids/report-pendulum.toml`, with or
    without a leading `configs/`), so the shipped grids run from any folder and an installed copy."""
    path = Path(path)
    if path.is_file():
        return path
    inside = Path(*path.parts[1:]) if path.parts[:1] == ("configs",) else path
    shipped = config_dir() / inside
    return shipped if shipped.is_file() else path


def load_grid(path: str | Path) -> Grid:
    """Reads and checks a grid file; every problem is a GridError naming the file and entry."""
    path = find_grid(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise GridError(f"grid file '{path}' not found") from err
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise GridError(f"grid file '{path}' is not valid TOML: {err}") from err
    unknown = sorted(set(data) - GRID_KEYS)
    if unknown:
        raise GridError(f"{path}: unknown key(s) {unknown}; a grid has {sorted(GRID_KEYS)}")
    entries = data.get("runs")
    if not isinstance(entries, list) or not entries:
        raise GridError(f"{path}: no [[runs]] entries")
    common = tuple(_strings(data["gin_params"], "gin_params", str(path))) if data.get("gin_params") else ()
    runs, seen = [], {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path}, [[runs]] entry {number}"
        unknown = sorted(set(entry) - ENTRY_KEYS)
        missing = sorted({"env", "algo", "config", "run_ids"} - set(entry))
        if unknown or missing:
            raise GridError(f"{where}: unknown key(s) {unknown}, missing key(s) {missing}")
        run_ids = entry["run_ids"]
        if not isinstance(run_ids, list) or not run_ids or not all(type(r) is int for r in run_ids):
            raise GridError(f"{where}: 'run_ids' must be a non-empty list of integers, got {run_ids!r}")
        own = tuple(_strings(entry["gin_params"], "gin_params", where)) if entry.get("gin_params") else ()
        envs, algos, configs = (_strings(entry[k], k, where) for k in ("env", "algo", "config"))
        for env, algo, config, run_id in itertools.product(envs, algos, configs, run_ids):
            run = RunSpec(env, algo, config, run_id, common + own)
            if run.key in seen:
                raise GridError(
                    f"{where}: {run.label} is already in entry {seen[run.key]}; both would train RESULTS/{env}/{algo}/{run_id}"
                )
            seen[run.key] = number
            runs.append(run)
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise GridError(f"{path}: 'name' must be a non-empty string")
    return Grid(name=name, path=path, runs=tuple(runs), description=str(data.get("description", "")))
