"""What every SAC variant (sac, csac, rsac, rsac_s) shares. The variants import its modules; none
imports another variant.

One update, in the reference's order: the critics step on the soft Bellman loss; the actor steps
against the *updated* critics; log-alpha steps on the actor's samples, the losses having read the
alpha from before this step; the targets move by Polyak averaging. A variant says only what is its
own through a `SoftLossView` (`update`): what the losses see of its networks (CSAC's encoder,
RSAC's summaries) and how a critic gradient reaches its parameters.

Modules: `settings` (the hyper-parameters and their one validation), `state` (the state of SAC
and RSAC, the tanh-Gaussian action, the heads on summaries, the optimizers) and `update`.
"""
