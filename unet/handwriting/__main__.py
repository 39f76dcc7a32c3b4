"""``python -m unet.handwriting``: the template and the reader from the command line (see ``cli``)."""

import sys

from .cli import main

sys.exit(main())
