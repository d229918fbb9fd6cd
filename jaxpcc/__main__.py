"""`python -m jaxpcc ...`: the same command line as `jaxpcc ...` and `python main.py ...`."""

import sys

from jaxpcc.cli import main

sys.exit(main())
