"""A visitor's own style: uploaded glyphs, fine-tuning, style files."""
