"""``python -m unet.finetune``: teach the model your own style (``unet.ownstyle.cli``)."""

import sys

from .ownstyle.cli import main

if __name__ == "__main__":
    sys.exit(main())
