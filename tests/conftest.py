"""Shared fixtures: gin is cleared around every test (no global state leaks between tests)."""

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gin  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()
