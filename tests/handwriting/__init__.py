"""Tests of unet.handwriting: the template and the reader of its photos."""
