"""``python -m unet.font``: export a font (the command of ``unet.fontexport``; the ``Font`` class,
a loaded font face, is ``unet.engine.glyphs.Font``)."""

import sys

from .fontexport.cli import main

if __name__ == "__main__":
    sys.exit(main())
