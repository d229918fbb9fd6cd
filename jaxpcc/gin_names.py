"""The reference's gin files, read as they are: module-prefixed names and `import` lines.

The reference registers every configurable under its Python module
(`basics.run_fns.train.num_epochs`, `algorithms.sac.SAC.lr`, `@basics.lr_schedules.linear_decay`)
and its files `import` those modules. jaxpcc registers the same configurables under their short
names (`train.num_epochs`, `SAC.lr`). Before gin parses a file, this module rewrites each
reference name to jaxpcc's and drops the reference's `import` lines, so a config copied
unchanged from the reference parses and runs, and jaxpcc's own files are left as they are.

The reference's SB3 driver has bindings of its own (`basics_sb3.run_fns.*`): they repeat the
`train` settings of the same file (through the same macros), and jaxpcc's SB3 backend reads those
`train` settings, so the `basics_sb3` bindings are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

# Reference name (module path + configurable) -> jaxpcc's registered name.
REFERENCE_NAMES = {
    "basics.run_fns.train": "train",
    "basics.replay_buffer.ReplayBuffer": "ReplayBuffer",
    "basics.replay_buffer_recurrent.RecurrentReplayBuffer": "RecurrentReplayBuffer",
    "basics.actors_and_critics.make_MLP": "make_MLP",
    "basics.summarizer.Summarizer": "Summarizer",
    "basics.lr_schedules.linear_decay": "linear_decay",
    "algorithms.ddpg.DDPG": "DDPG",
    "algorithms.td3.TD3": "TD3",
    "algorithms.sac.SAC": "SAC",
    "algorithms.convolutional_sac.ConvolutionalSAC": "ConvolutionalSAC",
    "algorithms_recurrent.recurrent_ddpg.RecurrentDDPG": "RecurrentDDPG",
    "algorithms_recurrent.recurrent_td3.RecurrentTD3": "RecurrentTD3",
    "algorithms_recurrent.recurrent_sac.RecurrentSAC": "RecurrentSAC",
    "algorithms_recurrent.recurrent_sac_sharing.RecurrentSACSharing": "RecurrentSACSharing",
}
# Top-level packages of the reference whose `import` lines mean nothing to jaxpcc.
REFERENCE_PACKAGES = ("basics", "basics_sb3", "algorithms", "algorithms_recurrent", "domains")
SB3_DRIVER_PREFIX = "basics_sb3."

_IMPORT = re.compile(r"^\s*(?:import|from)\s+(\w+)[\w.]*(?:\s+import\s+[\w., ]+)?\s*(?:#.*)?$")
_NAME = re.compile("|".join(re.escape(name) for name in sorted(REFERENCE_NAMES, key=len, reverse=True)))


def translate(text: str) -> str:
    """gin text with reference names rewritten to jaxpcc's; reference imports and SB3-driver bindings removed.

    Line numbers are kept (removed lines become comments), so gin's error messages still point
    at the right line of the user's file.
    """
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        match = _IMPORT.match(line)
        if match and match.group(1) in REFERENCE_PACKAGES:
            lines.append(f"# (reference import, not needed by jaxpcc) {stripped}")
        elif stripped.startswith(SB3_DRIVER_PREFIX):
            lines.append(f"# (reference SB3-driver binding; jaxpcc's SB3 backend reads train.*) {stripped}")
        else:
            lines.append(_NAME.sub(lambda m: REFERENCE_NAMES[m.group(0)], line))
    return "\n".join(lines) + "\n"


def parse_config_file_and_bindings(config: Path, bindings: Sequence[str], finalize: bool = True) -> None:
    """`gin.parse_config_files_and_bindings` for one file, after `translate` of the file and each binding.

    finalize=False leaves the config open for more bindings (the Python API adds its keywords).

    Raises what gin raises (ValueError, KeyError, SyntaxError, IOError) for a bad file or binding.
    """
    import gin

    text = Path(config).read_text()
    gin.parse_config(translate(text))
    gin.parse_config([translate(b).strip() for b in bindings])
    if finalize:
        gin.finalize()
