"""The benchmark suite: ``python -m benchmarks [--quick] [--only 1,3] [--out BENCHMARKS.md]``.

``measure`` holds what every table shares; each other module is one table: ``attention_kernels`` (1),
``generator`` (2), ``stylizer`` (3), ``gradio_api`` (4), ``training`` (5), ``concurrency`` (6).
Nothing in the runtime package ``unet`` imports from here.
"""
