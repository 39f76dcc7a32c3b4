"""``python -m unet.evaluate``: held-out evaluation (the command of ``unet.train.evaluate``)."""

from .train.evaluate import main

if __name__ == "__main__":
    main()
