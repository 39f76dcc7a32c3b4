"""``python -m unet.train`` (and ``torchrun -m unet.train``): the training loop in ``unet.train.train``."""

from .train import main

if __name__ == "__main__":
    main()
