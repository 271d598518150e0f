"""``i2i serve``: a drawing page and a REST API for released models (``app``), over a bounded inference queue
(``scheduler``) and the models named on the command line (``catalog``)."""
