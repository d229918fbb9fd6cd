"""Command line: parse arguments, resolve names and configs, fail with clear messages, run.

User errors (unknown env or algo, missing config, bad gin binding, unusable checkpoint) print
one message and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from jaxpcc import __version__
from jaxpcc.gin_files import CONFIG_DIR, DEFAULT_CONFIG, parse_gin, resolve_config
from jaxpcc.user_error import UserError


# Listed by --help without importing the agents (a test keeps this in step with jaxpcc.agents.ALGOS).
ALGO_SUMMARIES = {
    "ddpg": "DDPG, deterministic actor, Gaussian exploration noise",
    "td3": "TD3: DDPG with twin critics, target smoothing, delayed actor",
    "sac": "SAC: stochastic actor, twin critics, learned temperature",
    "rdpg": "recurrent DDPG: a recurrent summarizer reads the history",
    "rtd3": "recurrent TD3",
    "rsac": "recurrent SAC",
    "rsac_s": "recurrent SAC, one summarizer shared by actor and critics",
    "csac": "SAC from pixels (convolutional encoder, DrQ augmentation)",
}


def build_parser() -> argparse.ArgumentParser:
    algos = "\n".join(f"  {name:8s} {summary}" for name, summary in ALGO_SUMMARIES.items())
    parser = argparse.ArgumentParser(
        prog="jaxpcc",
        description=f"jaxpcc {__version__}: train, resume, render or record off-policy agents (DDPG, TD3, SAC and their variants).",
        epilog=f"algorithms (--algo):\n{algos}\n\n`jaxpcc ...`, `python -m jaxpcc ...` and `python main.py ...` are the same command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jaxpcc {__version__}")
    parser.add_argument(
        "--env", help="environment id, e.g. Pendulum-v0 (see --list-envs), or module:id for an env your module registers"
    )
    parser.add_argument("--algo", help=f"algorithm: {', '.join(ALGO_SUMMARIES)} (listed below)")
    parser.add_argument("--config", help=f"gin file (default {DEFAULT_CONFIG}); relative to the cwd or to jaxpcc's configs/")
    parser.add_argument("--run_id", type=int, nargs="+", default=[1], help="one or more run ids, run one after another")
    parser.add_argument(
        "--vectorized", action="store_true",
        help="train all --run_id seeds together in one process (vmapped), each with its own envs, buffer and files",
    )
    parser.add_argument("--seed_offset", type=int, default=0, help="seed = run_id + seed_offset")
    parser.add_argument(
        "--gin_param", action="extend", nargs="+", default=[],
        help="extra gin bindings, e.g. --gin_param train.num_epochs=2 SAC.lr=1e-3 (the flag may also repeat)",
    )
    parser.add_argument(
        "--env_on_device", action="store_true",
        help="step the env's JAX twin inside the compiled training program (pendulum envs; ddpg, td3, sac): "
        "a few device calls per epoch instead of one per step",
    )
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files beside progress.csv")
    parser.add_argument("--results_dir", default="results", help="runs go to RESULTS_DIR/ENV/ALGO/RUN_ID")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--render", action="store_true", help="reload the saved policy and show test episodes")
    mode.add_argument("--record", action="store_true", help="reload the saved policy and write videos of test episodes")
    parser.add_argument("--episodes", type=int, default=10, help="episodes for --render/--record")
    parser.add_argument("--list-envs", action="store_true", help="print every environment id and exit")
    parser.add_argument("--quiet", action="store_true", help="no console output while training (the run header still prints)")
    parser.add_argument(
        "--accept_change", action="append", default=[], metavar="SETTING",
        help="let a resumed run continue with a changed setting, e.g. train.num_epochs (recorded in its history)",
    )
    return parser


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
    from jaxpcc.agents import IMAGE_ALGOS
    from jaxpcc.envs import EnvModuleError, UnknownEnvError, UnsuitableEnvError, check_env_id, check_trainable, resolve_env_id

    try:
        check_env_id(args.env)
        env_id = resolve_env_id(args.env)  # a module:id env is known by its id once its module is imported
    except (UnknownEnvError, EnvModuleError) as err:
        raise UserError(str(err)) from err
    check_algo(args.algo, env_id)
    try:
        check_trainable(env_id, args.algo in IMAGE_ALGOS)
    except UnsuitableEnvError as err:
        raise UserError(str(err)) from err
    check_counts(args)
    config = resolve_config(args.config, args.algo)
    flags = (["tensorboard.enabled=True"] if args.tensorboard else []) + (["device_env.enabled=True"] if args.env_on_device else [])
    parse_gin(config, args.gin_param + flags)

    from jaxpcc.loop import train, train_vectorized
    from jaxpcc.run_header import header

    rel_config = config.relative_to(CONFIG_DIR) if config.is_relative_to(CONFIG_DIR) else config.name
    group = f"{env_id} {args.algo} {rel_config} (jaxpcc)"
    run_dirs = [Path(args.results_dir) / env_id / args.algo / str(run_id) for run_id in args.run_id]
    seeds = [run_id + args.seed_offset for run_id in args.run_id]
    with user_errors():
        if args.render or args.record:
            show(args, env_id, run_dirs, seeds)
            return
        accept = args.accept_change
        num_epochs = _bound_num_epochs()
        for run_dir, seed in zip(run_dirs, seeds):
            print(header(env_id, args.algo, seed, str(rel_config), run_dir, num_epochs), flush=True)
        if args.vectorized and len(run_dirs) > 1:
            train_vectorized(env_id, args.algo, run_dirs, seeds, quiet=args.quiet, wandb_group=group, accept_change=accept)
        else:
            for run_dir, seed in zip(run_dirs, seeds):
                train(env_id=env_id, algo=args.algo, run_dir=run_dir, seed=seed, quiet=args.quiet, wandb_group=group, accept_change=accept)


def check_counts(args: argparse.Namespace) -> None:
    """Run ids and episode counts that cannot work are refused before anything runs."""
    from jaxpcc.validation import InvalidSetting, check_count

    try:
        for run_id in args.run_id:
            check_count("--run_id", run_id, 0)
        check_count("--episodes", args.episodes, 1)
    except InvalidSetting as err:
        raise UserError(str(err)) from err


# gin appends where a failing configurable was called; the user needs only the first part.
_GIN_SUFFIX = re.compile(r"\s*In call to configurable '[^']*' \(<[^>]*>\)\s*$")


def one_line(err: BaseException) -> str:
    """An exception's message without gin's call-site suffix, on one line."""
    text = str(err)
    while _GIN_SUFFIX.search(text):
        text = _GIN_SUFFIX.sub("", text)
    return " ".join(text.split())


def _bound_num_epochs() -> Optional[int]:
    import gin

    value = gin.get_bindings("train").get("num_epochs")  # macros resolved
    return int(value) if isinstance(value, int) else None


def show(args: argparse.Namespace, env_id: str, run_dirs: list[Path], seeds: list[int]) -> None:
    """--render / --record: each run's policy under the run's own saved config (plus --gin_param)."""
    from jaxpcc.policy import parse_run_config
    from jaxpcc.visualize import visualize

    for run_id, run_dir, seed in zip(args.run_id, run_dirs, seeds):
        if (run_dir / "operative_config.gin").is_file() or (run_dir / "config.gin").is_file():
            try:
                parse_run_config(run_dir, args.gin_param)
            except (ValueError, KeyError, SyntaxError, IOError) as err:
                raise UserError(f"cannot read {run_dir}'s saved config: {err}") from err
        lengths, returns = visualize(
            env_id, args.algo, run_dir, "render" if args.render else "record", args.episodes, seed,
            on_video=lambda path: print(f"run {run_id}: video {path}"),
        )
        print(f"run {run_id}: returns {[round(r, 2) for r in returns]}")
        print(f"run {run_id}: lengths {lengths}")


@contextlib.contextmanager
def user_errors():
    """Turns the errors a user can cause (files, checkpoints, bad values, unbound gin parameters,
    unwritable or full disks) into UserError."""
    from jaxpcc.persistence.checkpoint import CheckpointError
    from jaxpcc.finite_guard import DivergedError
    from jaxpcc.validation import InvalidSetting

    try:
        yield
    except DivergedError:
        raise
    except (CheckpointError, InvalidSetting) as err:
        raise UserError(one_line(err)) from err
    except OSError as err:  # a file where a folder belongs, no permission, a full disk
        if err.filename is None:
            raise UserError(one_line(err)) from err
        raise UserError(f"cannot use {err.filename}: {one_line(err.strerror or err)}") from err
    except (ValueError, RuntimeError) as err:
        if "Required bindings" in str(err):
            raise UserError(f"the config leaves a required parameter unbound: {one_line(err)}") from err
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
        try:
            list_envs()
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (`--list-envs | head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not args.env or not args.algo:
        parser.error("--env and --algo are required (or --list-envs)")
    from jaxpcc import runtime

    runtime.configure()
    from jaxpcc.finite_guard import DivergedError

    try:
        run(args)
    except UserError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except DivergedError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 3
    except ImportError as err:
        from jaxpcc.extras import report_missing_extra

        return report_missing_extra(err)
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume from the last finished epoch", file=sys.stderr)
        return 130
    return 0
