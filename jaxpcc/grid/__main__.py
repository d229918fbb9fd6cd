import sys

from jaxpcc.grid.cli import main

sys.exit(main())
