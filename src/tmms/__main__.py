"""``python -m tmms``."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # SIGINT while starting: one line and 130, as main() gives later
    sys.stderr.write("tmms: interrupted\n")
    sys.exit(130)

sys.exit(main())
