"""Scenario YAML reading with line numbers (SafeLoader only) and the ConfigError it raises."""

from __future__ import annotations

from typing import Any

import yaml

from simulator.datamodel.errors import SourceError
from simulator.datamodel.yamlreader import LDict, LineLoader, read_yaml_file

__all__ = ["COMMAND_LINE", "ConfigError", "Node", "command_line_error", "read_yaml"]


class ConfigError(SourceError):
    """A scenario file (or a command-line override of it) is invalid.

    Attributes:
        file: the scenario file, or ``"<command line>"``.
        line: 1-based line of the offending YAML node (0 when unknown).
        key_path: dotted key path inside the document, e.g. ``groups[0].count``.
        reason: what is wrong and what was expected.
    """


COMMAND_LINE = "<command line>"
"""The ``file`` of errors in command-line overrides."""


def command_line_error(*, option: str, reason: str) -> ConfigError:
    """A ConfigError for a command-line option (``--agents``...)."""
    return ConfigError(COMMAND_LINE, 0, option, reason)


class Node(LDict):
    """A scenario YAML mapping: remembers its file, its line and the line of each key."""


class _Loader(LineLoader, yaml.SafeLoader):
    """Pure-Python SafeLoader building Nodes; keys must be strings, faults are ConfigErrors."""

    @classmethod
    def fault(cls, file: str, line: int, key_path: str, reason: str) -> ConfigError:
        return ConfigError(file, line, key_path, reason)

    def check_mapping_key(self, key: Any, line: int) -> None:
        if not isinstance(key, str):
            raise self.fault(self.file, line, str(key), "mapping keys must be strings")

    def new_mapping(self) -> Node:
        return Node()


def read_yaml(path: str) -> Node:
    """Parse one scenario file into a ``Node`` tree.

    Raises:
        ConfigError: unreadable file, YAML syntax error, or a top level that is not a mapping.
    """
    doc = read_yaml_file(path, _Loader, "scenario")
    if not isinstance(doc, Node):
        raise ConfigError(path, 1, "", "the scenario must be a YAML mapping (name:, broker:, groups: ...)")
    return doc
