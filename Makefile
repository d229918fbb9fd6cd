# Two commands set everything up: `make train` and `make test` build .venv when missing, then train / test.
# `make train` installs the core package (Pendulum needs no simulator and no Debian package);
# `make test` adds the 'dev', 'cluster' and 'bench' extras (every env and feature, Ray, torch and SB3) and the Debian packages that offscreen
# MuJoCo rendering needs. requirements.txt pins the tested versions of everything (a constraints file).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(VENV)/bin/pip install -q -c requirements.txt
DEBIAN_PACKAGES := libosmesa6 libgl1 libglfw3 ffmpeg
export MUJOCO_GL ?= osmesa
export PYOPENGL_PLATFORM ?= osmesa

.PHONY: train test test-fast venv venv-core system-deps bench bench-speed bench-gpu check-reference clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	touch $@

$(VENV)/.core: $(VENV)/.created pyproject.toml requirements.txt
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml requirements.txt
	$(PIP_INSTALL) -e '.[dev,cluster,bench]'
	touch $@ $(VENV)/.core

venv-core: $(VENV)/.core

venv: $(VENV)/.installed

# Offscreen MuJoCo rendering (dm_control, image envs) needs OSMesa; installed once, as root.
system-deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

train: venv-core
	$(PY) main.py --env Pendulum-v0 --algo sac --run_id 1

test: venv system-deps
	$(PY) -m pytest -q

test-fast: venv
	$(PY) -m pytest -q -m "not slow"

bench: venv
	$(PY) -m benchmarks.pendulum

# Speed against SBX and stable-baselines3 (the 'bench' extra, pinned in requirements-bench.txt), in the
# default mode (one update per env step), the same with the env on the device (--env_on_device) and in
# blocks of 50; the loop's parts in the default mode and in blocks.
# REFERENCE=path/to/offpcc-checkout also times the reference library's own code.
bench-speed: venv
	$(PIP_INSTALL) -c requirements-bench.txt -e '.[bench]'
	$(PY) -m benchmarks.speed --algos sac td3 ddpg --batch-sizes 256 100 --pairs 3 $(if $(REFERENCE),--reference $(REFERENCE))
	$(PY) -m benchmarks.loop_breakdown --algo td3 --batch-size 100 --update-every 1
	$(PY) -m benchmarks.loop_breakdown --algo td3 --batch-size 100 --update-every 50
	$(PY) -m benchmarks.recurrent_update_speed --updates 15 --block 5 --rounds 5 $(if $(REFERENCE),--reference $(REFERENCE))

# Every agent's update against the reference's own, gradient by gradient (REFERENCE=path required).
check-reference: venv
	@test -n "$(REFERENCE)" || { echo "usage: make check-reference REFERENCE=path/to/offpcc-checkout"; exit 2; }
	$(PIP_INSTALL) -c requirements-bench.txt -e '.[bench]'
	$(PY) -m checks.reference_equivalence --reference $(REFERENCE)
	$(PY) -m checks.reference_equivalence --reference $(REFERENCE) --padded

# The GPU figures in one command, on a machine whose .venv came from requirements-cuda.txt (no
# network needed: nothing is installed here, and PyTorch is not assumed to have CUDA).
bench-gpu:
	$(PY) -c "import jax; assert jax.default_backend() == 'gpu', jax.devices(); print(jax.devices())"
	$(PY) -m benchmarks.speed --algos sac td3 ddpg --batch-sizes 256 100 --pairs 3 --modes default device blocks --no-torch
	$(PY) -m benchmarks.vectorized --algo sac --seeds 1 2 3 4 5 6 7 8 --steps 5000
	$(PY) -m benchmarks.recurrent_update_speed --updates 20 --block 5 --no-torch

clean:
	rm -rf $(VENV) .pytest_cache
