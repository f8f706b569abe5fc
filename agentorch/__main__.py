"""`python -m agentorch` runs the command line."""

import sys

from agentorch.cli import main

sys.exit(main())
