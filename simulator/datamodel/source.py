"""Profile YAML reading with line numbers, plus ``extends`` / ``remove`` overlay merging.

Mappings come back as ``LDict`` (see ``yamlreader``). Only the safe loaders are used: PyYAML's
libyaml-backed ``CSafeLoader`` when PyYAML was built with it (about 10x faster on the 5,000-parameter
BBF import), else the pure-Python ``SafeLoader``. Both keep node start marks, so errors still name the
line.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from simulator.datamodel.errors import SchemaError
from simulator.datamodel.yamlreader import LDict, LineLoader, read_yaml_file

TOP_KEYS = frozenset({"format", "name", "uri", "extends", "remove", "objects", "instances"})
_MERGE_REPLACE = ("access", "keys", "num_entries", "max_entries")
_MEMBERS = ("params", "commands", "events")


class _PyLoader(LineLoader, yaml.SafeLoader):
    """Pure-Python SafeLoader building LDicts."""


_CSafeLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
if _CSafeLoader is not None:

    class _CLoader(LineLoader, _CSafeLoader):  # type: ignore[misc,valid-type]
        """libyaml-backed SafeLoader building LDicts."""

    LOADERS: tuple[type[Any], ...] = (_CLoader, _PyLoader)
else:  # pragma: no cover - PyYAML built without libyaml
    LOADERS = (_PyLoader,)
"""Loader classes, preferred first; ``read_document`` uses ``LOADERS[0]`` unless told otherwise."""


def read_document(path: str, loader_class: type[LineLoader] | None = None) -> LDict:
    """Parse one profile file (no overlay processing); ``loader_class`` defaults to ``LOADERS[0]``.

    Raises:
        SchemaError: unreadable file, YAML syntax error, or a top level that is not a mapping.
    """
    doc = read_yaml_file(path, loader_class or LOADERS[0], "profile")
    if not isinstance(doc, LDict):
        raise SchemaError(path, 1, "", "expected a mapping with format/objects/instances at the top level")
    for key in doc:
        if key not in TOP_KEYS:
            raise SchemaError(
                path,
                doc.line_of(key),
                str(key),
                f"unknown top-level key; expected one of {', '.join(sorted(TOP_KEYS))}",
            )
    if doc.get("format") != 1:
        raise SchemaError(path, doc.line_of("format"), "format", "expected 'format: 1'")
    for key in ("objects", "instances"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], LDict):
            raise SchemaError(path, doc.line_of(key), key, "expected a mapping keyed by object path")
    return doc


def _empty(file: str) -> LDict:
    out = LDict()
    out.file, out.line, out.lines = file, 0, {}
    return out


FileStamp = tuple[str, int, int]
"""(real path, mtime in ns, size) of one file read: the loader's cache validity check."""


def stamp(path: str) -> FileStamp:
    """The current ``FileStamp`` of ``path``.

    Raises:
        OSError: the file cannot be stat'ed.
    """
    st = os.stat(path)
    return (os.path.realpath(path), st.st_mtime_ns, st.st_size)


def merged_document(path: str, _seen: tuple[str, ...] = (), files: list[FileStamp] | None = None) -> LDict:
    """Read ``path`` and apply it over its ``extends`` chain.

    ``files``, when given, receives the ``FileStamp`` of every file of the chain (taken before the file
    is read, so a file changed while loading makes the stamp stale rather than the cache wrong).

    Raises:
        SchemaError: any fault in any file of the chain, or an ``extends`` cycle.
    """
    real = os.path.realpath(path)
    if real in _seen:
        raise SchemaError(path, 0, "extends", f"extends cycle: {' -> '.join((*_seen, real))}")
    if files is not None:
        try:
            files.append(stamp(path))
        except OSError as exc:
            raise SchemaError(path, 0, "", f"cannot read profile: {exc.strerror}") from None
    doc = read_document(path)
    for key in ("objects", "instances"):
        if doc.get(key) is None:
            doc[key] = _empty(path)
    base_name = doc.get("extends")
    if base_name is None:
        if doc.get("remove"):
            raise SchemaError(path, doc.line_of("remove"), "remove", "remove needs extends")
        return doc
    if not isinstance(base_name, str):
        raise SchemaError(path, doc.line_of("extends"), "extends", "expected a file name")
    base = merged_document(os.path.join(os.path.dirname(path), base_name), (*_seen, real), files)
    _apply_removals(base, doc)
    for key in ("name", "uri"):
        if key in doc:
            base[key] = doc[key]
            base.lines[key] = doc.line_of(key)
    _merge_objects(base["objects"], doc["objects"])
    _merge_instances(base["instances"], doc["instances"])
    return base


def _apply_removals(base: LDict, doc: LDict) -> None:
    removals = doc.get("remove") or []
    file = doc.file
    if not isinstance(removals, list):
        raise SchemaError(file, doc.line_of("remove"), "remove", "expected a list of paths")
    objects: LDict = base["objects"]
    instances: LDict = base["instances"]
    for idx, item in enumerate(removals):
        where = f"remove[{idx}]"
        if not isinstance(item, str):
            raise SchemaError(file, doc.line_of("remove"), where, "expected a path string")
        found = False
        if (item.endswith(".") and "{i}" in item) or item in objects:
            for key in [k for k in objects if k.startswith(item)]:
                del objects[key]
                found = True
            pattern = re.compile(re.escape(item).replace(r"\{i\}", r"(?:\d+|\d+\.\.\d+)"))
            for key in [k for k in instances if pattern.match(k)]:
                del instances[key]
        elif item.endswith("."):
            if item in instances:
                del instances[item]
                found = True
            for key in [k for k in instances if k.startswith(item)]:
                del instances[key]
        else:
            obj_path, _, leaf = item.rpartition(".")
            obj = objects.get(obj_path + ".")
            name = leaf.rstrip("()!")
            if obj is not None:
                section = "commands" if leaf.endswith("()") else "events" if leaf.endswith("!") else "params"
                members = obj.get(section) or {}
                for key in (leaf, name):
                    if key in members:
                        del members[key]
                        found = True
            pattern = re.compile(re.escape(obj_path + ".").replace(r"\{i\}", r"(?:\d+|\d+\.\.\d+)") + r"\Z")
            for key, values in instances.items():
                if pattern.match(key) and isinstance(values, dict) and name in values:
                    del values[name]
                    found = True
        if not found:
            raise SchemaError(
                file, doc.line_of("remove"), where, f"{item!r} matches nothing in the base profile"
            )


def _merge_objects(base: LDict, over: LDict) -> None:
    for path, spec in over.items():
        if path not in base or not isinstance(spec, LDict) or not isinstance(base[path], LDict):
            base[path] = spec
            base.lines[path] = over.line_of(path)
            continue
        target: LDict = base[path]
        for key, value in spec.items():
            if key in _MEMBERS and isinstance(value, dict) and isinstance(target.get(key), dict):
                members = target[key]
                for name, member in value.items():
                    old = members.get(name)
                    if isinstance(old, str) and isinstance(member, LDict) and "type" not in member:
                        old = short_form(old, member.file, member.line) or old
                    if isinstance(member, LDict) and isinstance(old, LDict):
                        members[name] = old
                        for attr, attr_value in member.items():
                            old[attr] = attr_value
                            old.lines[attr] = member.line_of(attr)
                        old.file = member.file
                    else:
                        members[name] = member
                        if isinstance(members, LDict):
                            members.lines[name] = value.line_of(name) if isinstance(value, LDict) else 0
            else:
                target[key] = value
                target.lines[key] = spec.line_of(key)


SHORT_ACCESS = {"ro": "readOnly", "rw": "readWrite", "wo": "writeOnly", "w1": "writeOnceReadOnly"}


def short_form(text: str, file: str, line: int) -> LDict | None:
    """Expand ``"<type> [ro|rw|wo|w1] [= default]"`` to its long form (None when malformed)."""
    head, eq, default = text.partition("=")
    words = head.split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1] not in SHORT_ACCESS):
        return None
    out = LDict()
    out.file, out.line, out.lines = file, line, {}
    out["type"] = words[0]
    if len(words) == 2:
        out["access"] = SHORT_ACCESS[words[1]]
    if eq:
        out["default"] = default.strip()
    return out


def _merge_instances(base: LDict, over: LDict) -> None:
    for path, values in over.items():
        old = base.get(path)
        if isinstance(old, LDict) and isinstance(values, LDict):
            for name, value in values.items():
                old[name] = value
                old.lines[name] = values.line_of(name)
            old.file = values.file
        else:
            base[path] = values
            base.lines[path] = over.line_of(path)
