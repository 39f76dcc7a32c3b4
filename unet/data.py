"""``python -m unet.data``: build a paired glyph dataset (the command of ``unet.train.data``)."""

from .train.data import main

if __name__ == "__main__":
    main()
