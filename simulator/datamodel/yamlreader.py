"""YAML reading with line numbers, shared by data-model profiles and fleet scenarios.

Mappings come back as ``LDict`` (a dict remembering each key's line and the file). A loader class is
``LineLoader`` mixed into one of PyYAML's safe loaders; it says which error to raise and which mapping
keys it accepts, so profiles and scenarios each keep their own error type and messages.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.datamodel.errors import SchemaError

__all__ = ["LDict", "LineLoader", "read_yaml_file"]

_STR_TAG = "tag:yaml.org,2002:str"


class LDict(dict[Any, Any]):
    """A mapping that remembers the file and the line of itself and of each key."""

    file: str = ""
    line: int = 0
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """Line of ``key`` (the mapping's own line when unknown)."""
        return self.lines.get(key, self.line)


class LineLoader:
    """Mixin for a safe loader building ``LDict`` mappings; ``file`` is set per load.

    The defaults are the profile ones (``SchemaError``; keys may be any scalar); a subclass overrides
    ``fault``, ``check_mapping_key`` and ``new_mapping``. Scalar tags are memoised: profiles repeat the
    same few scalars thousands of times (``type``, ``readWrite``, ``string``...) and PyYAML's resolver
    tries its regular expressions on every one. No path resolvers are registered, so the descend/ascend
    bookkeeping is skipped too.
    """

    file = ""
    _tags: dict[tuple[str, tuple[bool, bool]], str]

    @classmethod
    def fault(cls, file: str, line: int, key_path: str, reason: str) -> Exception:
        """The error to raise for a fault at ``file:line``."""
        return SchemaError(file, line, key_path, reason)

    def check_mapping_key(self, key: Any, line: int) -> None:
        """Raise ``fault`` when ``key`` may not key a mapping."""
        if not isinstance(key, str | int | float | bool) or key is None:
            raise self.fault(self.file, line, "", f"mapping key {key!r} must be a string")

    def new_mapping(self) -> LDict:
        """An empty mapping of the type this loader builds."""
        return LDict()

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[misc]
        key = (value, implicit)
        try:
            return self._tags[key]
        except AttributeError:
            self._tags = {}
        except KeyError:
            pass
        tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
        self._tags[key] = tag
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "add_constructor"):  # a concrete loader, not a further mixin
            cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out: LDict = loader.new_mapping()
    out.file = loader.file
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        loader.check_mapping_key(key, line)
        if key in out:
            raise loader.fault(loader.file, line, str(key), "duplicate key")
        if value_node.tag == _STR_TAG and type(value_node) is yaml.ScalarNode:
            out[key] = value_node.value  # what construct_yaml_str returns, minus the dispatch
        else:
            out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def read_yaml_file(path: str, loader_class: type[LineLoader], what: str) -> Any:
    """Parse the one document of ``path`` with ``loader_class``; ``what`` names the file in errors.

    Raises:
        Exception: ``loader_class.fault(...)`` for an unreadable file or a YAML syntax error.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise loader_class.fault(path, 0, "", f"cannot read {what}: {exc.strerror}") from None
    loader: Any = loader_class(text)  # type: ignore[call-arg]
    loader.file = path
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise loader_class.fault(path, line, "", f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise loader_class.fault(path, 0, "", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
