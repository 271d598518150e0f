"""``i2i data``: the dataset tools (check, combine, split, pairs, sketchy, download); torch-free, unlike
``i2i.data``."""
