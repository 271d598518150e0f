"""What training reads: the data kinds (``paired``, ``unpaired``, ``classes``), each registered in ``DATA_KINDS``."""

from i2i.data import classes, paired, unpaired  # noqa: F401  (registers the data kinds)
from i2i.data.kinds import DATA_KINDS, DataKind, Example, ScanReport

__all__ = ["DATA_KINDS", "DataKind", "Example", "ScanReport"]
