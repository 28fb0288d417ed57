"""Build the shared ``Schema`` from a profile (docs/datamodel-format.md).

Cached per process by the profile's real path, valid while no file of its ``extends`` chain changed.
"""

from __future__ import annotations

import os
import re
import zlib
from decimal import Decimal
from typing import Any

from simulator.datamodel.errors import SchemaError
from simulator.datamodel.generators import Generator, Template, literal, make_generator
from simulator.datamodel.schema import (
    CommandNode,
    EventNode,
    Instances,
    ObjAccess,
    ObjectNode,
    ParamAccess,
    ParamNode,
    Schema,
)
from simulator.datamodel.source import FileStamp, merged_document, short_form, stamp
from simulator.datamodel.types import TypeSpec, make_type
from simulator.datamodel.yamlreader import LDict
from simulator.usp.errors import UspError

DEFAULT_URI = "urn:broadband-forum-org:tr-181-2-16-0"
_OBJ_PATH_RE = re.compile(r"Device\.(?:[A-Za-z_][A-Za-z0-9_-]*\.(?:\{i\}\.)?)*\Z")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_ARG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:\{i\}|[A-Za-z_][A-Za-z0-9_-]*))*\Z")
_LONG_ACCESS = {
    "readOnly": ParamAccess.READ_ONLY,
    "readWrite": ParamAccess.READ_WRITE,
    "writeOnly": ParamAccess.WRITE_ONLY,
    "writeOnceReadOnly": ParamAccess.WRITE_ONCE_READ_ONLY,
}
_OBJ_ACCESS = {
    "readOnly": ObjAccess.READ_ONLY,
    "readWrite": ObjAccess.ADD_DELETE,
    "addOnly": ObjAccess.ADD_ONLY,
    "deleteOnly": ObjAccess.DELETE_ONLY,
}
_PARAM_KEYS = frozenset(
    {
        "type",
        "access",
        "default",
        "enum",
        "range",
        "min_length",
        "max_length",
        "pattern",
        "min_items",
        "max_items",
        "units",
        "reference",
        "strong",
        "value_change",
        "secured",
        "mandatory",
    }
)
_OBJ_KEYS = frozenset({"access", "keys", "num_entries", "max_entries", "params", "commands", "events"})
_CACHE: dict[str, tuple[tuple[FileStamp, ...], Schema]] = {}


def _fresh(files: tuple[FileStamp, ...]) -> bool:
    try:
        return all(stamp(real) == (real, mtime, size) for real, mtime, size in files)
    except OSError:
        return False


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Load a profile into its shared Schema (one per profile per process).

    The cached Schema is reused while every file of the ``extends`` chain keeps its mtime and size;
    touching the profile or any base it extends rebuilds it.

    Raises:
        SchemaError: the profile or one it extends is invalid (message names file, line and key path).
    """
    fspath = os.fspath(path)
    real = os.path.realpath(fspath)
    cached = _CACHE.get(real)
    if cached is not None and _fresh(cached[0]):
        return cached[1]
    builder = _Builder(fspath)
    schema = builder.build()
    _CACHE[real] = (tuple(builder.files), schema)
    return schema


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes: list[Any] = []
        self.files: list[FileStamp] = []

    def fail(self, where: LDict, key: Any, key_path: str, reason: str) -> SchemaError:
        return SchemaError(where.file or self.path, where.line_of(key), key_path, reason)

    def build(self) -> Schema:
        doc = merged_document(self.path, files=self.files)
        objects: LDict = doc["objects"]
        by_path: dict[str, ObjectNode] = {}
        for path in sorted(objects, key=lambda p: (str(p).count("."), str(p))):
            by_path[path] = self._object(objects, path, by_path)
        if "Device." not in by_path:
            raise SchemaError(self.path, 0, "objects", "the root object 'Device.' is missing")
        root = by_path["Device."]
        self._link(objects, root)
        tables, values = self._instances(doc["instances"], by_path)
        for node in self.nodes:
            node._freeze()
        name = str(doc.get("name", os.path.splitext(os.path.basename(self.path))[0]))
        return Schema(name, str(doc.get("uri", DEFAULT_URI)), root, self.nodes, tables, values, self.path)

    # -- objects ---------------------------------------------------------------------------------------
    def _object(self, objects: LDict, path: Any, by_path: dict[str, ObjectNode]) -> ObjectNode:
        kp = f'objects."{path}"'
        if not isinstance(path, str) or _OBJ_PATH_RE.match(path) is None:
            raise self.fail(
                objects,
                path,
                kp,
                "expected a supported object path like Device.X.{i}.Y. "
                "(starts with 'Device.', ends with '.')",
            )
        spec = objects[path]
        if spec is None:
            spec = LDict()
            spec.file, spec.line, spec.lines = objects.file, objects.line_of(path), {}
        if not isinstance(spec, LDict):
            raise self.fail(objects, path, kp, "expected a mapping (params/commands/events/access/keys)")
        for key in spec:
            if key not in _OBJ_KEYS:
                raise self.fail(spec, key, f"{kp}.{key}", f"unknown key; expected one of {sorted(_OBJ_KEYS)}")
        is_table = path.endswith("{i}.")
        trimmed = path[:-4] if is_table else path
        name = trimmed[:-1].rpartition(".")[2]
        parent = None
        if path != "Device.":
            parent_path = trimmed[:-1].rpartition(".")[0] + "."
            parent = by_path.get(parent_path)
            if parent is None:
                raise self.fail(objects, path, kp, f"parent object {parent_path!r} is not declared")
            if name in parent.children:
                raise self.fail(objects, path, kp, f"{name!r} declared twice under {parent_path}")
        node = ObjectNode(name, path, parent, is_table)
        if parent is not None:
            parent.children[name] = node
        access = spec.get("access", "readOnly")
        if access not in _OBJ_ACCESS:
            raise self.fail(spec, "access", f"{kp}.access", f"expected one of {', '.join(_OBJ_ACCESS)}")
        node.access = _OBJ_ACCESS[access] if is_table else ObjAccess.READ_ONLY
        max_entries = spec.get("max_entries")
        if max_entries is not None and (not isinstance(max_entries, int) or max_entries < 0):
            raise self.fail(spec, "max_entries", f"{kp}.max_entries", "expected a non-negative integer")
        node.max_entries = max_entries
        params = self._section(spec, "params", kp)
        for pname, pspec in params.items():
            node.params[pname] = self._param(params, pname, pspec, f"{kp}.params.{pname}", node.path + pname)
        commands = self._section(spec, "commands", kp)
        for cname, cspec in commands.items():
            node.commands[cname[:-2]] = self._command(commands, cname, cspec, f"{kp}.commands.{cname}")
        events = self._section(spec, "events", kp)
        for ename, espec in events.items():
            node.events[ename[:-1]] = self._event(events, ename, espec, f"{kp}.events.{ename}")
        node.keys = self._keys(spec, node, kp)
        by_path[path] = node
        return node

    def _section(self, spec: LDict, key: str, kp: str) -> LDict:
        section = spec.get(key)
        if section is None:
            empty = LDict()
            empty.file, empty.line, empty.lines = spec.file, spec.line, {}
            return empty
        if not isinstance(section, LDict):
            raise self.fail(spec, key, f"{kp}.{key}", "expected a mapping keyed by name")
        suffix = {"params": "", "commands": "()", "events": "!"}[key]
        for name in section:
            bare = (
                name[: -len(suffix)] if suffix and isinstance(name, str) and name.endswith(suffix) else name
            )
            if (
                not isinstance(name, str)
                or (suffix and not name.endswith(suffix))
                or not _NAME_RE.match(bare)
            ):
                what = {
                    "params": "a parameter name",
                    "commands": "a name ending in ()",
                    "events": "a name ending in !",
                }[key]
                raise self.fail(section, name, f"{kp}.{key}.{name}", f"expected {what}")
        return section

    def _keys(self, spec: LDict, node: ObjectNode, kp: str) -> tuple[tuple[str, ...], ...]:
        raw = spec.get("keys")
        if raw is None:
            return ()
        if not node.is_table:
            raise self.fail(
                spec, "keys", f"{kp}.keys", "unique keys are only allowed on tables (path ending {i}.)"
            )
        if not isinstance(raw, list) or not all(isinstance(ks, list) and ks for ks in raw):
            raise self.fail(spec, "keys", f"{kp}.keys", "expected a list of key sets, e.g. [[Alias], [Name]]")
        for key_set in raw:
            for name in key_set:
                if name not in node.params:
                    raise self.fail(spec, "keys", f"{kp}.keys", f"key parameter {name!r} is not in params")
        return tuple(tuple(str(n) for n in ks) for ks in raw)

    def _param(
        self, where: LDict, name: str, spec: Any, kp: str, path: str, *, arg: bool = False
    ) -> ParamNode:
        if isinstance(spec, str):
            spec = self._short(where, name, spec, kp)
        elif not isinstance(spec, LDict):
            raise self.fail(where, name, kp, "expected a type string like 'boolean rw = false' or a mapping")
        attrs: LDict = spec
        for key in attrs:
            if key not in _PARAM_KEYS or (key == "mandatory" and not arg):
                raise self.fail(
                    attrs, key, f"{kp}.{key}", f"unknown key; expected one of {sorted(_PARAM_KEYS)}"
                )
        if "type" not in attrs:
            raise self.fail(where, name, f"{kp}.type", "missing 'type'")
        type_ = self._type(attrs, kp)
        access_name = attrs.get("access")
        if access_name is None:
            access = ParamAccess.WRITE_ONCE_READ_ONLY if type_.name == "Alias" else ParamAccess.READ_ONLY
        elif access_name in _LONG_ACCESS:
            access = _LONG_ACCESS[access_name]
        else:
            raise self.fail(attrs, "access", f"{kp}.access", f"expected one of {', '.join(_LONG_ACCESS)}")
        salt = zlib.crc32(path.encode())
        default: str | Generator
        if "default" in attrs:
            default = self._value(attrs, "default", attrs["default"], type_, f"{kp}.default", salt)
        elif type_.name == "Alias":
            default = Template(salt, "cpe-{instance}")
        else:
            default = type_.default
        vc = attrs.get("value_change", "allowed")
        if vc not in ("allowed", "ignore"):
            raise self.fail(attrs, "value_change", f"{kp}.value_change", "expected 'allowed' or 'ignore'")
        ref = attrs.get("reference", [])
        if isinstance(ref, str):
            ref = [ref]
        if not isinstance(ref, list) or not all(isinstance(r, str) and r.endswith(".") for r in ref):
            raise self.fail(
                attrs, "reference", f"{kp}.reference", "expected a list of supported object paths"
            )
        for flag in ("strong", "secured", "mandatory"):
            if not isinstance(attrs.get(flag, False), bool):
                raise self.fail(attrs, flag, f"{kp}.{flag}", "expected true or false")
        node = ParamNode(
            name,
            type_,
            access,
            default,
            value_change_ignore=vc == "ignore",
            secured=bool(attrs.get("secured", False)),
            reference=tuple(ref),
            strong=bool(attrs.get("strong", False)),
            units=str(attrs.get("units", "")),
            mandatory=bool(attrs.get("mandatory", False)),
            has_default="default" in attrs,
        )
        node.path = path
        self._register(node)
        return node

    def _short(self, where: LDict, name: str, text: str, kp: str) -> LDict:
        out = short_form(text, where.file, where.line_of(name))
        if out is None:
            raise self.fail(where, name, kp, "short form is '<type> [ro|rw|wo|w1] [= default]'")
        return out

    def _type(self, attrs: LDict, kp: str) -> TypeSpec:
        extra: dict[str, Any] = {}
        for key in ("min_length", "max_length", "min_items", "max_items"):
            if key in attrs:
                if not isinstance(attrs[key], int) or attrs[key] < 0:
                    raise self.fail(attrs, key, f"{kp}.{key}", "expected a non-negative integer")
                extra[key] = attrs[key]
        if "enum" in attrs:
            if not isinstance(attrs["enum"], list) or not attrs["enum"]:
                raise self.fail(attrs, "enum", f"{kp}.enum", "expected a non-empty list of values")
            extra["enum"] = tuple(literal(v) for v in attrs["enum"])
        if "range" in attrs:
            rng = attrs["range"]
            if not (
                isinstance(rng, list)
                and len(rng) == 2
                and all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in rng)
            ):
                raise self.fail(attrs, "range", f"{kp}.range", "expected [min, max] (numbers or null)")
            extra["lo"], extra["hi"] = (
                None if v is None else v if isinstance(v, int) else Decimal(str(v)) for v in rng
            )
        if "pattern" in attrs:
            try:
                re.compile(str(attrs["pattern"]))
            except re.error as exc:
                raise self.fail(
                    attrs, "pattern", f"{kp}.pattern", f"invalid regular expression: {exc}"
                ) from None
            extra["pattern"] = str(attrs["pattern"])
        try:
            return make_type(str(attrs["type"]), **extra)
        except ValueError as exc:
            raise self.fail(attrs, "type", f"{kp}.type", str(exc)) from None

    def _value(  # noqa: PLR0917
        self, where: LDict, key: Any, raw: Any, type_: TypeSpec, kp: str, salt: int
    ) -> str | Generator:
        if isinstance(raw, dict):
            try:
                gen = make_generator(raw, salt)
                gen.conform(type_.normalize)
            except ValueError as exc:
                raise self.fail(where, key, kp, f"{exc} (parameter type {type_.name})") from None
            return gen
        try:
            return type_.normalize(literal(raw))
        except UspError as exc:
            raise self.fail(where, key, kp, f"invalid {type_.name} value: {exc.message}") from None

    def _command(self, where: LDict, name: str, spec: Any, kp: str) -> CommandNode:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict) or set(spec) - {"async", "input", "output"}:
            raise self.fail(where, name, kp, "expected a mapping with async, input, output")
        if not isinstance(spec.get("async", False), bool):
            raise self.fail(spec, "async", f"{kp}.async", "expected true or false")  # type: ignore[arg-type]
        args = [self._args(spec, section, f"{kp}.{section}") for section in ("input", "output")]
        node = CommandNode(name[:-2], bool(spec.get("async", False)), args[0], args[1])
        self._register(node)
        return node

    def _event(self, where: LDict, name: str, spec: Any, kp: str) -> EventNode:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict) or set(spec) - {"args"}:
            raise self.fail(where, name, kp, "expected a mapping with args")
        node = EventNode(name[:-1], self._args(spec, "args", f"{kp}.args"))
        self._register(node)
        return node

    def _args(self, spec: Any, key: str, kp: str) -> dict[str, ParamNode]:
        raw = spec.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, LDict):
            raise self.fail(spec, key, kp, "expected a mapping of argument name -> type")
        out = {}
        for name, aspec in raw.items():
            if not isinstance(name, str) or not _ARG_RE.match(name):
                raise self.fail(raw, name, f"{kp}.{name}", "expected an argument name like Host or X.{i}.Y")
            node = self._param(raw, name, aspec, f"{kp}.{name}", name, arg=True)
            self.nodes.remove(node)  # arguments are not schema nodes
            out[name] = node
        return out

    def _register(self, node: Any) -> None:
        node.id = len(self.nodes)
        self.nodes.append(node)

    # -- linking ---------------------------------------------------------------------------------------
    def _link(self, objects: LDict, root: ObjectNode) -> None:
        ordered: list[Any] = []

        def walk(obj: ObjectNode) -> None:
            ordered.append(obj)
            obj.tables = (*(obj.parent.tables if obj.parent else ()), *((obj,) if obj.is_table else ()))
            obj.param_list = tuple(obj.params.values())
            obj.child_list = tuple(obj.children.values())
            obj.key_names = tuple(dict.fromkeys(n for ks in obj.keys for n in ks))
            for p in obj.param_list:
                p.obj = obj
            for c in obj.commands.values():
                c.obj, c.path = obj, f"{obj.path}{c.name}()"
            for e in obj.events.values():
                e.obj, e.path = obj, f"{obj.path}{e.name}!"
            ordered.extend(obj.param_list)
            ordered.extend(obj.commands.values())
            ordered.extend(obj.events.values())
            for child in obj.child_list:
                walk(child)
            if obj.is_table and obj.parent is not None:
                self._num_entries(objects, obj)

        walk(root)
        for idx, node in enumerate(ordered):
            node.id = idx
        self.nodes = ordered

    def _num_entries(self, objects: LDict, table: ObjectNode) -> None:
        spec = objects.get(table.path)
        explicit = isinstance(spec, LDict) and "num_entries" in spec
        name = spec["num_entries"] if explicit else f"{table.name}NumberOfEntries"  # type: ignore[index]
        if name is None:
            return
        assert table.parent is not None
        counter = table.parent.params.get(str(name))
        if counter is None:
            if explicit and isinstance(spec, LDict):
                raise self.fail(
                    spec,
                    "num_entries",
                    f'objects."{table.path}".num_entries',
                    f"parent {table.parent.path} has no parameter {name!r}",
                )
            return
        if counter.type.base != "unsignedInt" or counter.writable:
            raise self.fail(
                objects,
                table.parent.path,
                f'objects."{table.parent.path}".params.{name}',
                "a NumberOfEntries counter must be a read-only unsignedInt",
            )
        counter.counts = table
        table.num_entries = counter

    # -- instances -------------------------------------------------------------------------------------
    def _instances(
        self, raw: LDict, by_path: dict[str, ObjectNode]
    ) -> tuple[dict[tuple[int, Instances], tuple[int, ...]], dict[tuple[int, Instances], str | Generator]]:
        tables: dict[tuple[int, Instances], set[int]] = {}
        values: dict[tuple[int, Instances], str | Generator] = {}
        for path, settings in raw.items():
            kp = f'instances."{path}"'
            obj, inst_list = self._instance_path(raw, path, kp, by_path)
            if settings is None:
                settings = {}
            if not isinstance(settings, LDict):
                raise self.fail(raw, path, kp, "expected a mapping of parameter name -> value")
            for inst in inst_list:
                for depth, table in enumerate(obj.tables):
                    tables.setdefault((table.id, inst[:depth]), set()).add(inst[depth])
                for name, value in settings.items():
                    param = obj.params.get(name)
                    if param is None:
                        raise self.fail(
                            settings, name, f"{kp}.{name}", f"{obj.path} has no parameter {name!r}"
                        )
                    if param.counts is not None:
                        raise self.fail(settings, name, f"{kp}.{name}", "NumberOfEntries values are computed")
                    values[(param.id, inst)] = self._value(
                        settings, name, value, param.type, f"{kp}.{name}", zlib.crc32(param.path.encode())
                    )
        return {k: tuple(sorted(v)) for k, v in tables.items()}, values

    def _instance_path(
        self, raw: LDict, path: Any, kp: str, by_path: dict[str, ObjectNode]
    ) -> tuple[ObjectNode, list[Instances]]:
        if not isinstance(path, str) or not path.startswith("Device.") or not path.endswith("."):
            raise self.fail(raw, path, kp, "expected an object instance path like Device.X.1.")
        tokens = re.sub(r"(\d+)\.\.(\d+)", r"\1~\2", path)[:-1].split(".")
        supported: list[str] = []
        ranges: list[range] = []
        for tok in tokens:
            if tok.isdigit() or "~" in tok:
                lo, _, hi = tok.partition("~")
                if int(lo) < 1 or (hi and int(hi) < int(lo)):
                    raise self.fail(raw, path, kp, f"bad instance number or range {tok.replace('~', '..')!r}")
                ranges.append(range(int(lo), int(hi or lo) + 1))
                supported.append("{i}")
            else:
                supported.append(tok)
        spath = ".".join(supported) + "."
        obj = by_path.get(spath)
        if obj is None:
            raise self.fail(raw, path, kp, f"no supported object {spath!r} in objects")
        if len(ranges) != obj.depth:
            raise self.fail(raw, path, kp, "every table on the path needs an instance number")
        insts: list[Instances] = [()]
        for rng in ranges:
            insts = [(*i, n) for i in insts for n in rng]
        return obj, insts
