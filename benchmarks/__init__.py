"""The benchmark suite: ``python -m benchmarks [--quick] [--only 1,3] [--out BENCHMARKS.md]``.

``measure`` holds what every table shares; each other module is one table: ``attention_kernels`` (1),
``generator`` (2), ``stylizer`` (3), ``gradio_api`` (4), ``training`` (5), ``concurrency`` (6),
``live_loop`` (7), ``font_export`` (8). Two more run on their own and write no table:
``python -m benchmarks.export_load`` (does a visitor's font export slow the live demo?) and
``python -m benchmarks.font_fidelity`` (where exported glyphs sit against the real fonts).
Nothing in the runtime package ``unet`` imports from here.
"""
