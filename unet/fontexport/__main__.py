"""``python -m unet.fontexport``: the same command as ``python -m unet.font``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
