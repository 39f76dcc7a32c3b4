"""The demo server's logic, kept out of ``app.py`` (layout and wiring only) so it is testable without
a browser: ``service.py`` (the live generator: requests, cache, views, the speculator), ``exports.py``
(fonts for visitors, bounded), ``views.py`` with ``web/`` (each view's HTML, CSS and JavaScript)."""
