"""`python -m peerlab`: the same as the `peerlab` command."""

import sys

from peerlab.cli import main

sys.exit(main())
