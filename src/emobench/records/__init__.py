"""Every folder emobench writes and reads, as typed records validated on load: a run (``run``), a model and
the families' files (``model``), an export (``export``), a comparison (``comparison``), a tuning folder
(``tuning``). Nothing else reads or writes these files by name; :mod:`emobench.files` gives the safe access
(names inside the folder, bounded JSON, manifests) they all use."""
