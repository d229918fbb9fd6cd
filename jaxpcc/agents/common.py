"""What every agent shares: the `Agent` bundle, optimizer steps, Polyak averaging, gin knobs."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from typing import Any, Callable, Mapping, Optional

import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax


@gin.configurable("make_MLP")
def mlp_hidden_sizes(hidden_dimensions=(256, 256)) -> tuple[int, ...]:
    """Widths of every MLP (actors, critics, heads); the reference's `make_MLP.hidden_dimensions`."""
    return tuple(int(h) for h in hidden_dimensions)


@gin.configurable("linear_decay")
def linear_decay(k, num_updates=gin.REQUIRED):
    """The reference's learning-rate multiplier 1 - (k - 1) / num_updates for update k = 1, 2, ..."""
    return 1.0 - (k - 1) / num_updates


def adam(lr: float, lr_schedule: Optional[Callable] = None) -> optax.GradientTransformation:
    """Adam with PyTorch's defaults; `lr_schedule(k)` multiplies lr at update k (k from 1)."""
    if lr_schedule is None:
        return optax.adam(lr)
    return optax.adam(lambda count: lr * lr_schedule(count + 1))


# Host functions that receive every optimizer step's gradients (see `tapping_gradients`).
_gradient_taps: list[Callable] = []


@contextlib.contextmanager
def tapping_gradients(tap: Callable):
    """While active, the updates traced (jitted or not) call `tap(grads)` on the host with each
    optimizer step's gradients, in the order the steps run (the reference-equivalence check
    records them so). Programs traced before or after are unchanged: they hold no tap."""
    _gradient_taps.append(tap)
    try:
        yield
    finally:
        _gradient_taps.remove(tap)


def apply_gradients(tx: optax.GradientTransformation, params, opt_state, grads):
    """One optimizer step; returns (new_params, new_opt_state)."""
    for tap in _gradient_taps:
        jax.debug.callback(tap, grads, ordered=True)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def polyak_update(target, online, polyak: float):
    """target <- polyak * target + (1 - polyak) * online (the reference's rho; tau = 1 - rho)."""
    return optax.incremental_update(online, target, step_size=1.0 - polyak)


def first_member(tree):
    """The first member of an ensemble-stacked pytree, kept as an ensemble of one ([1, ...]).

    Losses that read Q1 alone (TD3's and RTD3's actor losses) apply it to this, so the other
    critics are neither run nor differentiated through.
    """
    return jax.tree.map(lambda x: x[:1], tree)


def scalar_metrics(metrics: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """Keeps the scalar entries of a metrics dict (drops per-sample auxiliaries)."""
    return {k: v for k, v in metrics.items() if jnp.ndim(v) == 0}


def describe_config(config) -> dict:
    """A JSON-able, process-independent description of a config (callables by name)."""
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if callable(value):
            value = getattr(value, "__name__", type(value).__name__)
        elif isinstance(value, tuple):
            value = list(value)
        elif dataclasses.is_dataclass(value):  # a nested config (a recurrent agent's summarizer)
            value = describe_config(value)
        out[field.name] = value
    return out


def scan_updates(update_fn: Callable, state, batches):
    """K gradient steps in one call: `update_fn` scanned over a leading [K] axis of batches.

    Returns the final state and metrics stacked along [K].
    """
    return jax.lax.scan(update_fn, state, batches)


def scan_or_call(update_fn: Callable, state, batches):
    """`scan_updates`, except that a block of one update is one plain call.

    A scan of length one still runs as a loop whose carry (the whole train state) is copied in
    and out; with one update per env step (the reference's default) that copy is paid per step.
    """
    if jax.tree.leaves(batches)[0].shape[0] != 1:
        return scan_updates(update_fn, state, batches)
    state, metrics = update_fn(state, jax.tree.map(lambda x: x[0], batches))
    return state, jax.tree.map(lambda m: m[None], metrics)


def phased_updates(step_fn: Callable, period: int, state, batches, phase: int):
    """K updates whose first is update number `phase` (mod `period`) of the run, delays placed statically.

    `step_fn(state, batch, delayed_step)` is one update that runs the delayed (every `period`-th)
    work when `delayed_step` is True. The host knows how many updates a run has made, so it
    passes `phase` and no update decides on the device: the updates before the first aligned one
    and after the last whole period are unrolled, the whole periods between are scanned.
    """
    num = jax.tree.leaves(batches)[0].shape[0]
    head = min((-phase) % period, num)
    whole = (num - head) // period * period
    take = lambda lo, hi: jax.tree.map(lambda x: x[lo:hi], batches)  # noqa: E731
    metrics = []

    def unrolled(state, group, first_phase):
        out = []
        for j in range(jax.tree.leaves(group)[0].shape[0]):
            state, m = step_fn(state, jax.tree.map(lambda x: x[j], group), (first_phase + j + 1) % period == 0)
            out.append(m)
        return state, out

    state, head_metrics = unrolled(state, take(0, head), phase)
    metrics += [jax.tree.map(lambda x: x[None], m) for m in head_metrics]
    if whole:
        periods = jax.tree.map(lambda x: x.reshape((-1, period) + x.shape[1:]), take(head, head + whole))

        def one_period(state, group):
            state, out = unrolled(state, group, 0)
            return state, jax.tree.map(lambda *xs: jnp.stack(xs), *out)

        state, scanned = jax.lax.scan(one_period, state, periods)
        metrics.append(jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), scanned))
    state, tail_metrics = unrolled(state, take(head + whole, num), 0)
    metrics += [jax.tree.map(lambda x: x[None], m) for m in tail_metrics]
    return state, jax.tree.map(lambda *xs: jnp.concatenate(xs), *metrics)


@dataclasses.dataclass(frozen=True)
class PeriodicUpdates:
    """`update_many` for an agent whose updates repeat with a period (TD3's delayed actor step).

    A block of whole periods that starts at a step divisible by the period runs `in_periods`,
    which places the periodic work statically and needs no per-step branch; any other block (or
    a call under a JAX transformation, where the step is not known) runs `scanned`, which decides
    in every step. Both give the same updates. The step counter is read on the host, which waits
    for the previous update to finish; the training loop waits for it anyway before acting.

    Attributes:
      scanned, in_periods: (state, batches) -> (state, metrics), batches' blocks on `block_axis`.
      period: the number of updates per period.
      block_axis: the batches' axis of updates (1 when a leading seed axis is vmapped).
    """

    scanned: Callable
    in_periods: Callable
    period: int
    block_axis: int = 0

    def aligned(self, state, batches) -> bool:
        if isinstance(state.step, jax.core.Tracer):
            return False
        block = jax.tree.leaves(batches)[0].shape[self.block_axis]
        return block % self.period == 0 and bool(np.all(np.asarray(state.step) % self.period == 0))

    def __call__(self, state, batches):
        run = self.in_periods if self.aligned(state, batches) else self.scanned
        return run(state, batches)

    def map(self, transform: Callable, block_axis: int) -> "PeriodicUpdates":
        """The same dispatch over `transform`ed programs (the vectorized learner's vmap and jit)."""
        return PeriodicUpdates(transform(self.scanned), transform(self.in_periods), self.period, block_axis)


@dataclasses.dataclass(frozen=True)
class Agent:
    """An algorithm bound to its hyper-parameters: pure functions, jitted at this boundary.

    Attributes:
      name: the algorithm's command-line name ("sac").
      config: the frozen hyper-parameter dataclass.
      init: key -> state.
      act: (state, obs [O] or [N, O], key, deterministic) -> action; jitted, `deterministic` static.
      update: (state, batch) -> (state, metrics); one gradient step, jitted, state donated.
      update_many: (state, batches [K, ...]) -> (state, metrics [K]); K steps in one call
        (a `PeriodicUpdates` for agents built with a `delayed_update`).
      policy: state -> the parameters an acting policy needs (what `--render` reloads).
      metric_names: metrics key -> the reference's logged name.
      initial_carry: recurrent agents only (None for feed-forward ones): () -> the zero hidden
        state of one env; their `act` is then (state, carry, obs, key, deterministic) ->
        (action, carry), and the carry must be reset to `initial_carry()` at every episode start.
      step: every agent's acting signature, (state, carry, obs, key, deterministic) -> (action,
        carry); a feed-forward agent's carry is () and comes back unchanged.
      start_carry: () -> the carry an episode starts from (() for a feed-forward agent).
      update_seeds: `update_many` vmapped over a leading seed axis and jitted (state donated),
        for several seeds trained together.
      update_block: (state, batches [K, ...], phase) -> (state, metrics [K]), not jitted: K updates
        whose first is the run's update number `phase` modulo `period`, a static int the host
        knows (a TD3 delay is then placed statically). The learner composes it into its programs.
      period: updates per period of delayed work (1 when none).
    """

    name: str
    config: Any
    init: Callable
    act: Callable
    update: Callable
    update_many: Callable
    policy: Callable
    metric_names: Mapping[str, str]
    step: Callable
    start_carry: Callable
    update_seeds: Callable
    update_block: Callable
    period: int = 1
    initial_carry: Optional[Callable] = None

    @property
    def is_recurrent(self) -> bool:
        return self.initial_carry is not None


def build_agent(
    name, config, *, init, act, update, policy, metric_names, initial_carry=None, delayed_update=None, period=1
) -> Agent:
    """Binds `config` into the module-level functions and jits them once.

    `initial_carry(config)`, given for recurrent agents, is bound the same way.
    `delayed_update(config, state, batch, delayed_step)`, given with `period` > 1, is one update
    whose delayed work (TD3's actor step) runs when the static `delayed_step` is True; blocks
    of updates then place that work statically (`phased_updates`, `PeriodicUpdates`).
    """
    bound_update = functools.partial(update, config)
    update_many = jax.jit(functools.partial(scan_updates, bound_update), donate_argnums=0)
    if delayed_update is not None and period > 1:
        step_fn = functools.partial(delayed_update, config)
        block = functools.partial(_phased_block, step_fn, period)
        in_periods = jax.jit(lambda state, batches: block(state, batches, 0), donate_argnums=0)
        update_many = PeriodicUpdates(update_many, in_periods, period)
        update_seeds = update_many.map(_over_seeds, block_axis=1)
    else:
        period = 1
        block = functools.partial(_plain_block, bound_update)
        update_seeds = _over_seeds(update_many)
    jitted_act = jax.jit(functools.partial(act, config), static_argnames="deterministic")
    if initial_carry is None:  # feed-forward: an empty carry passes through

        def step(state, carry, obs, key, deterministic):
            return jitted_act(state, obs, key, deterministic=deterministic), carry

        bound_carry, start_carry = None, tuple
    else:

        def step(state, carry, obs, key, deterministic):
            return jitted_act(state, carry, obs, key, deterministic=deterministic)

        bound_carry = start_carry = functools.partial(initial_carry, config)
    return Agent(
        name=name,
        config=config,
        init=jax.jit(functools.partial(init, config)),
        act=jitted_act,
        update=jax.jit(bound_update, donate_argnums=0),
        update_many=update_many,
        policy=policy,
        metric_names=dict(metric_names),
        step=step,
        start_carry=start_carry,
        update_seeds=update_seeds,
        update_block=block,
        period=period,
        initial_carry=bound_carry,
    )


def _plain_block(update_fn, state, batches, phase: int):
    return scan_or_call(update_fn, state, batches)


def _phased_block(step_fn, period: int, state, batches, phase: int):
    return phased_updates(step_fn, period, state, batches, phase)


def _over_seeds(update_many: Callable) -> Callable:
    """`update_many` over a leading seed axis of states and batches."""
    return jax.jit(jax.vmap(update_many), donate_argnums=0)
