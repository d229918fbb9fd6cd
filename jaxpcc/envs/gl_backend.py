"""Picks MuJoCo's OpenGL backend before dm_control or mujoco is imported (import this first).

Defaults: `MUJOCO_GL=osmesa`, software offscreen rendering that works on a headless CPU machine
(Debian package `libosmesa6`); set `MUJOCO_GL=egl` (GPU) or `glfw` (window) in the environment to
override. `DISABLE_RENDER_THREAD_OFFLOADING=1` makes dm_control render on the calling thread, which
avoids its offloading thread pool and the noisy clean-up errors that pool raises at interpreter exit.
"""

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("DISABLE_RENDER_THREAD_OFFLOADING", "1")
