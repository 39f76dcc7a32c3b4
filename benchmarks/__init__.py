"""The benchmark suite: ``python -m benchmarks [--quick] [--only 1,3] [--out BENCHMARKS.md]``.

``measure`` holds what every table shares; each other module is one table: ``attention_kernels`` (1),
``generator`` (2), ``stylizer`` (3), ``gradio_api`` (4), ``training`` (5), ``concurrency`` (6),
``live_loop`` (7), ``font_export`` (8). Three more run on their own and write no table:
``python -m benchmarks.export_load`` (does a visitor's font export slow the live demo?),
``python -m benchmarks.font_fidelity`` (where exported glyphs sit against the real fonts) and
``python -m benchmarks.glyph_quality`` (SSIM, dithered / textured / broken-stroke rates and ms per
glyph of two checkpoints side by side, with the real fonts' rates as the floor).
Nothing in the runtime package ``unet`` imports from here.
"""
