"""What training reads: the data kinds (``paired``, ``unpaired``), each registered here in ``DATA_KINDS``."""

from i2i.data import paired, unpaired  # noqa: F401  (registers the data kinds)
from i2i.data.kinds import DATA_KINDS, DataKind, Example, ScanReport

__all__ = ["DATA_KINDS", "DataKind", "Example", "ScanReport"]
