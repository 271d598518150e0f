"""Inference: running generators on images (``pipeline``), the user-facing ``Translator`` and file translation.

Nothing is imported here, so that the low modules (``preprocessing``, ``pipeline``) load without the ones that open
model files; the public names are ``i2i.Translator`` and ``i2i.open_model``.
"""
