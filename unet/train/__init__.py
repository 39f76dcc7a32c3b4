"""Training: the paired glyph dataset (``data``), the training loop (``train``), held-out evaluation
(``evaluate``) and the glyph quality metrics it reports (``metrics``).

Commands: ``python -m unet.train`` (this package), ``python -m unet.data`` and
``python -m unet.evaluate`` (thin aliases of ``unet.train.data`` and ``unet.train.evaluate``).
"""
