"""``python -m unet.infer``: text to a glyph sheet and attention maps (the command of ``unet.engine.cli``)."""

import sys

from .engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
