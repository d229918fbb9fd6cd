"""Reload a saved policy and watch it: `--render` shows frames, `--record` writes videos.

Both run deterministic test episodes and print their lengths and returns, as the reference's
`load_and_visualize_policy`. Recording is headless and works for every env that renders
`rgb_array` frames, dm_control ones included. For image observations it also writes what the
agent sees: its stacked frames side by side, oldest first (`episode_N_agent_view`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Literal, Optional

import gymnasium
import imageio.v2 as imageio
import jax
import numpy as np

from jaxpcc.agents import make_agent
from jaxpcc.envs import make_env
from jaxpcc.evaluation import run_test_episodes
from jaxpcc.persistence.policy_file import POLICY_NAME, load_policy


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def headless_sdl() -> None:
    """Off-screen frames need no window system: SDL (under pygame) gets its dummy drivers, so it
    does not warn on stderr that XDG_RUNTIME_DIR is unset. A user's own SDL settings are kept."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


class ObservationLog(gymnasium.Wrapper):
    """Keeps the observation the env last returned (`last_obs`), so a recorder can show it."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.last_obs = None

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.last_obs = obs
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.last_obs = obs
        return obs, reward, terminated, truncated, info


def agent_view(obs: np.ndarray, scale: int = 2) -> np.ndarray:
    """An image observation [C, H, W] as an RGB frame [scale*H, scale*C*W, 3]: channels side by side.

    With stacked grayscale frames (the `-img-concat3` envs) this shows the three frames the
    policy reads, oldest on the left. uint8 pixels are shown as they are, floats as [0, 1].
    """
    obs = np.asarray(obs)
    if obs.dtype != np.uint8:
        obs = np.clip(np.rint(obs * 255.0), 0, 255).astype(np.uint8)
    strip = np.concatenate(list(obs), axis=1)  # [H, C * W]
    strip = np.repeat(np.repeat(strip, scale, axis=0), scale, axis=1)
    return np.repeat(strip[:, :, None], 3, axis=2)


def write_video(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """mp4 through imageio-ffmpeg; a gif when no ffmpeg writer is available."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # imageio-ffmpeg starts ffmpeg as a subprocess (fork, then exec at once); JAX's warning
            # that forking a multithreaded process may deadlock concerns children that go on
            # running Python, not this one.
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            imageio.mimwrite(path.with_suffix(".mp4"), frames, fps=fps, macro_block_size=1)
        return path.with_suffix(".mp4")
    except (ImportError, ValueError, RuntimeError, OSError):
        imageio.mimwrite(path.with_suffix(".gif"), frames, duration=1.0 / fps)
        return path.with_suffix(".gif")


def visualize(
    env_id: str,
    algo: str,
    run_dir: Path,
    mode: Literal["render", "record"],
    num_episodes: int = 10,
    seed: int = 0,
    on_video: Optional[Callable[[Path], None]] = None,
) -> tuple[list[int], list[float]]:
    """Runs `num_episodes` deterministic episodes of the policy saved in `run_dir`.

    Returns their lengths and returns; with mode="record", videos land in run_dir/videos/ and
    `on_video(path)` hears of each one written. The agent is built under the current gin config
    (the command line parses the run's own saved config first).
    """
    policy_path = Path(run_dir) / POLICY_NAME
    if not policy_path.exists():
        raise FileNotFoundError(f"no saved policy at {policy_path}; train this run first")
    render_mode = "human" if mode == "render" and has_display() else "rgb_array"
    if render_mode == "rgb_array":
        headless_sdl()
    env = ObservationLog(make_env(env_id, seed=seed, render_mode=render_mode))
    image_obs = len(env.observation_space.shape) == 3
    agent = make_agent(algo, env.observation_space.shape, env.action_space.shape[0])
    state = load_policy(Path(run_dir), agent, agent.init(jax.random.PRNGKey(seed)))
    frames: list[np.ndarray] = []
    views: list[np.ndarray] = []

    def on_step(e) -> None:
        if render_mode == "rgb_array":
            frame = e.render()
            if frame is not None:
                frames.append(np.asarray(frame))
        if mode == "record" and image_obs:
            views.append(agent_view(e.last_obs))

    lengths, returns = [], []
    for i in range(num_episodes):
        frames.clear()
        views.clear()
        ep_len, ep_ret = run_test_episodes(env, agent, state, jax.random.PRNGKey(seed), [seed + i], on_step)
        lengths += ep_len
        returns += ep_ret
        written = []
        if mode == "record" and frames:
            written.append(write_video(Path(run_dir) / "videos" / f"episode_{i}", frames))
        if mode == "record" and views:
            written.append(write_video(Path(run_dir) / "videos" / f"episode_{i}_agent_view", views))
        for path in written:
            if on_video is not None:
                on_video(path)
    env.close()
    if mode == "render" and render_mode != "human":
        print("no display found: frames were rendered off-screen; use --record to save videos")
    return lengths, returns
