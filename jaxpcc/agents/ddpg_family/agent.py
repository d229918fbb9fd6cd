"""An algorithm of the family bound into an `Agent`: feed-forward (DDPG, TD3) or recurrent (RDPG, RTD3)."""

from __future__ import annotations

from jaxpcc.agents import recurrent as rec
from jaxpcc.agents.common import Agent, build_agent
from jaxpcc.agents.ddpg_family.state import act, act_recurrent, init, init_recurrent, policy
from jaxpcc.agents.ddpg_family.update import delayed_update, delayed_update_recurrent, update, update_recurrent


def transition_agent(name: str, config, metric_names: dict) -> Agent:
    """A feed-forward agent of the family (DDPG, TD3), its delayed actor step placed statically
    when `config.policy_delay` > 1 (see `update.delayed_update`)."""
    return build_agent(
        name, config, init=init, act=act, update=update, policy=policy, metric_names=metric_names,
        delayed_update=delayed_update, period=config.policy_delay,
    )


def sequence_agent(name: str, config, metric_names: dict) -> Agent:
    """A recurrent agent of the family (RDPG, RTD3), acting with a carry."""
    return build_agent(
        name, config, init=init_recurrent, act=act_recurrent, update=update_recurrent, policy=policy,
        metric_names=metric_names, initial_carry=rec.initial_carry, delayed_update=delayed_update_recurrent,
        period=config.policy_delay,
    )
