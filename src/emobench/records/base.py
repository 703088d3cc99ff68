"""The record base types (defined on the bottom floor, in ``emobench.schema``, so the producers below ``records``
return the types the records embed)."""
from ..schema import (FORMAT, AnyDict, Count, FileName, Finite, LabelNames, Name, OpenRecord, Record, Share, Task,
                      check, record_of, shorten, validate, where_of)

__all__ = ["FORMAT", "AnyDict", "Count", "FileName", "Finite", "LabelNames", "Name", "OpenRecord", "Record", "Share",
           "Task", "check", "record_of", "shorten", "validate", "where_of"]
