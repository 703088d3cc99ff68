"""The exception types a user sees as a clear message instead of a traceback."""


class EmobenchError(Exception):
    """An error caused by input or configuration; the CLI prints its message and exits with code 2."""


class DataError(EmobenchError):
    """Bad input data: the message names the file, the line or field, and what was expected."""

    def __init__(self, message: str, path=None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class UnknownSplitError(EmobenchError, KeyError):
    """A split name the dataset does not have (a KeyError too, for mapping-style callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
