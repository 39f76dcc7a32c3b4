"""The engine: text in, styled glyphs out.

``Stylizer`` (``stylizer.py``) is the one entry point for generation; ``request.py`` is the one place
a request is checked; ``glyphs.py`` and ``charsets.py`` turn text into source bitmaps; ``hooks.py``
captures and bypasses attention per call; ``visualize.py`` makes pictures for people; ``cli.py`` is
``python -m unet.infer``. ``cache.py`` and ``runtime.py`` are the small pieces the engine and the demo
share (a bounded LRU cache; what the host CPU offers).
"""

from .request import Request
from .stylizer import Generation, LayerCapture, Stylizer

__all__ = ["Generation", "LayerCapture", "Request", "Stylizer"]
