"""Scenario YAML reading with line numbers (SafeLoader only) and the ConfigError it raises."""

from __future__ import annotations

from typing import Any

import yaml

from simulator.datamodel.errors import SimulatorError

__all__ = ["COMMAND_LINE", "ConfigError", "Node", "command_line_error", "read_yaml"]


class ConfigError(SimulatorError):
    """A scenario file (or a command-line override of it) is invalid.

    Attributes:
        file: the scenario file, or ``"<command line>"``.
        line: 1-based line of the offending YAML node (0 when unknown).
        key_path: dotted key path inside the document, e.g. ``groups[0].count``.
        reason: what is wrong and what was expected.
    """

    def __init__(self, file: str, line: int, key_path: str, reason: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key_path}: {reason}" if key_path else f"{where}: {reason}")
        self.file = file
        self.line = line
        self.key_path = key_path
        self.reason = reason


COMMAND_LINE = "<command line>"
"""The ``file`` of errors in command-line overrides."""


def command_line_error(*, option: str, reason: str) -> ConfigError:
    """A ConfigError for a command-line option (``--agents``...)."""
    return ConfigError(COMMAND_LINE, 0, option, reason)


class Node(dict[str, Any]):
    """A YAML mapping that remembers its file, its line and the line of each key."""

    file: str = ""
    line: int = 0
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Line of ``key`` (the mapping's own line when the key is absent)."""
        return self.lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    file = ""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.file = loader.file
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise ConfigError(loader.file, line, str(key), "mapping keys must be strings")
        if key in out:
            raise ConfigError(loader.file, line, key, "duplicate key")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: str) -> Node:
    """Parse one scenario file into a ``Node`` tree.

    Raises:
        ConfigError: unreadable file, YAML syntax error, or a top level that is not a mapping.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(path, 0, "", f"cannot read scenario: {exc.strerror}") from None
    loader = _Loader(text)
    loader.file = path
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(path, line, "", f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, 0, "", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(doc, Node):
        raise ConfigError(path, 1, "", "the scenario must be a YAML mapping (name:, broker:, groups: ...)")
    return doc
