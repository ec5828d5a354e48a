"""`python -m agenteval` is the `agenteval` command."""

import sys

from .cli.main import main

sys.exit(main())
