"""Data shipped with the engine. ``frequency.py``: the most frequent simplified and traditional
characters, adapted from wordfreq's data and so under CC BY-SA 4.0, not the project's Apache-2.0
(see README.md and LICENSE-CC-BY-SA-4.0.txt in this folder)."""
