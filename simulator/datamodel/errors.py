"""Simulator-side (non-protocol) error roots: configuration and data-model schema faults.

Hierarchy::

    Exception
    └── SimulatorError          root for config / schema / transport faults (not USP protocol faults)
        └── SourceError         a fault at a line of an input file; names file, line, key path
            └── SchemaError     a profile (datamodels/*.yaml) is invalid
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of every simulator fault that is not a USP protocol fault."""


class SourceError(SimulatorError):
    """A fault at a line of an input file (profile or scenario): ``file:line: key_path: reason``."""

    def __init__(self, file: str, line: int, key_path: str, reason: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key_path}: {reason}" if key_path else f"{where}: {reason}")
        self.file = file
        self.line = line
        self.key_path = key_path
        self.reason = reason


class SchemaError(SourceError):
    """A data-model profile cannot be loaded.

    Attributes:
        file: the profile file (as given to the loader).
        line: 1-based line of the offending YAML node (0 when unknown).
        key_path: dotted key path inside the document, e.g. ``objects."Device.".params.UpTime.type``.
        reason: what is wrong and what was expected.
    """

