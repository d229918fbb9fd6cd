"""Command line: parse arguments, resolve names and configs, fail with clear messages, run.

User errors (unknown env or algo, missing config, bad gin binding, unusable checkpoint) print
one message and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from pathlib import Path
from typing import Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = "configs/default.gin"
DEFAULT_RECURRENT_CONFIG = "configs/test/template_recurrent_100k.gin"
DEFAULT_IMAGE_CONFIG = "configs/test/template_cnn.gin"


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Train, resume, render or record off-policy agents (DDPG, TD3, SAC and their variants).",
    )
    parser.add_argument("--env", help="environment id, e.g. Pendulum-v0 (see --list-envs)")
    parser.add_argument("--algo", help="algorithm: ddpg, td3, sac, ...")
    parser.add_argument("--config", help=f"gin file (default {DEFAULT_CONFIG}); relative to the cwd, the repo or configs/")
    parser.add_argument("--run_id", type=int, nargs="+", default=[1], help="one or more run ids, run one after another")
    parser.add_argument(
        "--vectorized", action="store_true",
        help="train all --run_id seeds together in one process (vmapped), each with its own envs, buffer and files",
    )
    parser.add_argument("--seed_offset", type=int, default=0, help="seed = run_id + seed_offset")
    parser.add_argument("--gin_param", action="append", default=[], help="extra gin binding, e.g. 'train.num_epochs=2'")
    parser.add_argument("--results_dir", default="results", help="runs go to RESULTS_DIR/ENV/ALGO/RUN_ID")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--render", action="store_true", help="reload the saved policy and show test episodes")
    mode.add_argument("--record", action="store_true", help="reload the saved policy and write videos of test episodes")
    parser.add_argument("--episodes", type=int, default=10, help="episodes for --render/--record")
    parser.add_argument("--list-envs", action="store_true", help="print every environment id and exit")
    parser.add_argument("--quiet", action="store_true", help="no console output while training")
    return parser


def resolve_config(path: Optional[str], algo: str) -> Path:
    """Finds the gin file as given, relative to the repository root, or relative to configs/."""
    if path is None:
        from jaxpcc.agents import RECURRENT_ALGOS, IMAGE_ALGOS

        path = DEFAULT_RECURRENT_CONFIG if algo in RECURRENT_ALGOS else DEFAULT_IMAGE_CONFIG if algo in IMAGE_ALGOS else DEFAULT_CONFIG
    candidates = [Path(path), REPO_ROOT / path, CONFIG_DIR / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise UserError(f"config '{path}' not found; tried: {tried}")


def check_algo(algo: str, env_id: str) -> None:
    """Unknown algorithm names, and image/vector mismatches, are refused with the valid choices."""
    from jaxpcc.agents import ALGOS, IMAGE_ALGOS
    from jaxpcc.envs import is_image_env

    if algo not in ALGOS:
        close = difflib.get_close_matches(algo, list(ALGOS), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UserError(f"unknown algo '{algo}'.{hint} Valid algos: {', '.join(sorted(ALGOS))}")
    if is_image_env(env_id) and algo not in IMAGE_ALGOS:
        raise UserError(
            f"'{env_id}' has image observations; '{algo}' needs vectors. Use an image algorithm: {', '.join(sorted(IMAGE_ALGOS)) or 'none available'}"
        )
    if not is_image_env(env_id) and algo in IMAGE_ALGOS:
        raise UserError(f"'{algo}' needs image observations, and '{env_id}' has vectors; use an '-img-' env or a vector algorithm")


def parse_gin(config: Path, bindings: Sequence[str]) -> None:
    import gin

    # Registers every configurable name before parsing.
    import jaxpcc.agents  # noqa: F401
    import jaxpcc.replay  # noqa: F401
    import jaxpcc.train  # noqa: F401

    from jaxpcc.gin_names import parse_config_file_and_bindings

    gin.clear_config()
    try:
        parse_config_file_and_bindings(config, bindings)  # reads the reference's module-prefixed names too
    except (ValueError, KeyError, SyntaxError, IOError) as err:
        raise UserError(f"bad gin configuration ({config.name} + --gin_param): {err}") from err


def list_envs() -> None:
    from jaxpcc import envs

    describe = getattr(envs, "describe_envs", None)
    if describe is None:
        print("\n".join(envs.env_ids()))
        return
    for info in describe():
        kind = "image" if info.is_image else "vector"
        print(f"{info.id:45s} {kind:6s} obs {str(tuple(info.obs_shape)):14s} act {str(tuple(info.action_shape)):6s} {info.description}")


def run(args: argparse.Namespace) -> None:
    from jaxpcc.envs import UnknownEnvError, check_env_id

    try:
        check_env_id(args.env)
    except UnknownEnvError as err:
        raise UserError(str(err)) from err
    check_algo(args.algo, args.env)
    config = resolve_config(args.config, args.algo)
    parse_gin(config, args.gin_param)

    import gin

    from jaxpcc.train import train, train_vectorized
    from jaxpcc.visualize import visualize

    rel_config = config.relative_to(CONFIG_DIR) if config.is_relative_to(CONFIG_DIR) else config.name
    group = f"{args.env} {args.algo} {rel_config} (jaxpcc)"
    run_dirs = [Path(args.results_dir) / args.env / args.algo / str(run_id) for run_id in args.run_id]
    seeds = [run_id + args.seed_offset for run_id in args.run_id]
    with user_errors():
        if args.render or args.record:
            for run_id, run_dir, seed in zip(args.run_id, run_dirs, seeds):
                lengths, returns = visualize(args.env, args.algo, run_dir, "render" if args.render else "record", args.episodes, seed)
                print(f"run {run_id}: returns {[round(r, 2) for r in returns]}")
                print(f"run {run_id}: lengths {lengths}")
            return
        for run_dir in run_dirs:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.gin").write_text(gin.config_str())
        if args.vectorized and len(run_dirs) > 1:
            train_vectorized(args.env, args.algo, run_dirs, seeds, quiet=args.quiet, wandb_group=group)
        else:
            for run_dir, seed in zip(run_dirs, seeds):
                train(env_id=args.env, algo=args.algo, run_dir=run_dir, seed=seed, quiet=args.quiet, wandb_group=group)
        for run_dir in run_dirs:
            (run_dir / "operative_config.gin").write_text(gin.operative_config_str())


@contextlib.contextmanager
def user_errors():
    """Turns the errors a user can cause (files, checkpoints, unbound gin parameters) into UserError."""
    from jaxpcc.checkpoint import CheckpointError

    try:
        yield
    except (CheckpointError, FileNotFoundError) as err:
        raise UserError(str(err)) from err
    except (ValueError, RuntimeError) as err:
        if "Required bindings" in str(err):
            raise UserError(f"the config leaves a required parameter unbound: {err}") from err
        raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["grid"]:  # experiment grids: python main.py grid run|report FILE
        from jaxpcc.grid.cli import main as grid_main

        return grid_main(argv[1:])
    if argv[:1] == ["sb3"]:  # stable-baselines3 from the same configs: python main.py sb3 --env --algo --config
        from jaxpcc.sb3 import main as sb3_main

        return sb3_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_envs:
        list_envs()
        return 0
    if not args.env or not args.algo:
        parser.error("--env and --algo are required (or --list-envs)")
    from jaxpcc import runtime

    runtime.configure()
    try:
        run(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume from the last finished epoch", file=sys.stderr)
        return 130
    return 0
