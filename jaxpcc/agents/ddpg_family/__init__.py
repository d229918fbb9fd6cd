"""What the deterministic-policy agents (ddpg, td3, rdpg, rtd3) share, written once for transitions
and for sequences. The agents import its modules; none imports another agent.

One update: the critic(s) step on the TD loss; then, every `policy_delay`-th update, the actor
steps on -Q_1(s, mu(s)) against the *updated* first critic and every target moves by Polyak
averaging. DDPG is one critic, no target smoothing and a delay of 1; TD3 two critics, smoothing
and a delay of 2. RDPG and RTD3 run the same update on summaries (`agents/recurrent.py`): the
actor reads the critics' summaries from before the critic step, and the gradients are pulled back
into the summarizers.

Modules: `settings` (the hyper-parameters), `state` (networks, state, acting), `views` (what the
losses see of the networks: the one difference between transitions and sequences), `update`
(the critic and actor steps, the update) and `agent` (an algorithm's config -> its `Agent`).
"""
