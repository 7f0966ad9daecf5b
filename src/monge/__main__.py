"""``python -m monge ...``: the ``monge`` command (also for ``torchrun --nproc_per_node K -m monge flow ...``)."""

import sys

from monge.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
