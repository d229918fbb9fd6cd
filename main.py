"""jaxpcc's command line; everything lives in jaxpcc.cli so it can be imported and tested.

    python main.py --env Pendulum-v0 --algo sac --config configs/test/template_short.gin --run_id 1 2 3
"""

import sys

from jaxpcc.cli import main

if __name__ == "__main__":
    sys.exit(main())
