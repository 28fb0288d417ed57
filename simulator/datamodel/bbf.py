"""Import a Broadband Forum ``*-usp-full.xml`` data model as the supported part of a YAML profile."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.datamodel.bbfxml import BbfImportError, Element, parse_tree
from simulator.datamodel.types import BASE_TYPES, NAMED_TYPES, make_type
from simulator.usp.errors import UspError

__all__ = ["BbfImportError", "import_bbf_xml", "main_import", "write_yaml"]

#: Order of preference when a syntax carries several ``<default type=...>`` children.
_DEFAULT_PREFERENCE = ("object", "factory", "parameter", "implementation")
_PARAM_ACCESS = frozenset({"readOnly", "readWrite", "writeOnceReadOnly"})


def _parent_path(path: str) -> str:
    """Return the parent object of a supported path (``Device.WiFi.SSID.{i}.`` -> ``Device.WiFi.``)."""
    parts = path[:-1].split(".")
    drop = 2 if parts[-1] == "{i}" else 1
    return ".".join(parts[:-drop]) + "." if len(parts) > drop else ""


def _table_name(path: str) -> str:
    """Return the last name of a table path (``Device.WiFi.SSID.{i}.`` -> ``SSID``)."""
    return path[:-1].split(".")[-2]


class _Importer:
    """Turns a parsed cwmp-datamodel tree into profile-format Python data (docs/datamodel-format.md)."""

    def __init__(self, path: Path, root: Element) -> None:
        self.path = path
        self.root = root
        self.datatypes: dict[str, Element] = {}
        self.objects: set[str] = set()
        self._resolved: dict[str, dict[str, Any]] = {}
        self._resolving: set[str] = set()

    def error(self, element: Element, message: str) -> BbfImportError:
        """Build an error naming the file and ``element``'s line."""
        return BbfImportError(self.path, element.line, message)

    def _int(self, element: Element, attr: str) -> int:
        value = element.attrib[attr]
        try:
            return int(value)
        except ValueError:
            raise self.error(
                element, f"<{element.tag} {attr}=...> expected an integer, got {value!r}"
            ) from None

    # -- syntax and data types: XML -> facet dict -------------------------------------------

    def _facet(self, facets: dict[str, Any], element: Element) -> None:
        """Merge one facet element (size, range, enumeration, pattern, units, pathRef...) into ``facets``."""
        tag, attrib = element.tag, element.attrib
        if attrib.get("status") == "deleted":
            return
        if tag == "size":
            for attr, key in (("minLength", "min_length"), ("maxLength", "max_length")):
                if attr in attrib:
                    facets[key] = self._int(element, attr)
        elif tag == "range":
            bounds = {
                key: self._int(element, attr) if attr in attrib else None
                for attr, key in (("minInclusive", "lo"), ("maxInclusive", "hi"))
            }
            facets.setdefault("ranges", []).append((bounds["lo"], bounds["hi"]))
        elif tag == "enumeration":
            facets.setdefault("enum", []).append(attrib.get("value", ""))
        elif tag == "pattern":
            facets.setdefault("patterns", []).append(attrib.get("value", ""))
        elif tag == "units":
            facets["units"] = attrib.get("value", "")
        elif tag == "pathRef":
            facets["path_ref"] = (
                attrib.get("refType", "weak"),
                attrib.get("targetParent", "").split(),
                attrib.get("targetType", "any"),
            )
        # enumerationRef, instanceRef and future facets carry nothing the profile format can express.

    def _body(self, element: Element, inherited: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resolve a ``<syntax>`` or ``<dataType>`` body into a facet dict.

        Facets given in ``element`` replace the same kind of facet inherited from a base type (TR-106
        derivation restricts the base, so the most specific declaration is the one that applies).
        """
        facets = dict(inherited or {})
        local: dict[str, Any] = {}
        for child in element.children:
            tag = child.tag
            if tag in BASE_TYPES:
                facets["type"] = tag
                for facet in child.children:
                    self._facet(local, facet)
            elif tag == "dataType":
                name = child.attrib.get("ref") or child.attrib.get("base")
                if not name:
                    raise self.error(child, "<dataType> expected a ref= or base= attribute")
                list_facet = facets.get("list")
                facets.update(self.datatype(name, child))
                if list_facet is not None:
                    facets["list"] = list_facet
                if "ref" not in child.attrib:
                    facets.pop("data_type", None)
                for facet in child.children:
                    self._facet(local, facet)
            elif tag == "list":
                list_facet = {
                    key: self._int(child, attr)
                    for attr, key in (("minItems", "min_items"), ("maxItems", "max_items"))
                    if attr in child.attrib
                }
                size = child.find("size")
                if size is not None and "maxLength" in size.attrib:
                    list_facet["max_length"] = self._int(size, "maxLength")
                facets["list"] = list_facet
            elif tag == "default":
                facets.setdefault("defaults", {})[child.attrib.get("type", "object")] = child.attrib.get(
                    "value", ""
                )
            else:
                self._facet(local, child)
        facets.update(local)
        return facets

    def datatype(self, name: str, at: Element) -> dict[str, Any]:
        """Return the facets of the named dataType ``name``, following ``base=`` chains.

        Raises:
            BbfImportError: The dataType is unknown, circular or has no primitive base.
        """
        if name not in self._resolved:
            definition = self.datatypes.get(name)
            if definition is None:
                raise self.error(at, f"<dataType ref={name!r}> expected a dataType defined in this file")
            if name in self._resolving:
                raise self.error(definition, f"dataType {name!r} derives from itself")
            self._resolving.add(name)
            base = definition.attrib.get("base")
            facets = self._body(definition, self.datatype(base, definition) if base else None)
            self._resolving.discard(name)
            if "type" not in facets:
                raise self.error(definition, f"dataType {name!r} expected a primitive type element or base=")
            facets["data_type"] = name
            self._resolved[name] = facets
        return dict(self._resolved[name])

    # -- facet dict -> profile-format attributes -------------------------------------------

    def typed(self, owner: Element, obj_path: str, *, argument: bool = False) -> dict[str, Any]:
        """Describe the type of a parameter or argument element in profile-format attributes.

        Args:
            owner: A ``<parameter>`` element (object parameter or command/event argument).
            obj_path: The supported path of the object the element belongs to (for relative references).
            argument: True for command and event arguments: only an explicit BBF default is kept (an
                omitted input argument takes it, R-OPR.7), never a synthesized one.

        Raises:
            BbfImportError: The element has no ``<syntax>`` or the syntax names no type.
        """
        syntax = owner.find("syntax")
        if syntax is None:
            raise self.error(
                owner, f"<parameter name={owner.attrib.get('name')!r}> expected a <syntax> child"
            )
        f = self._body(syntax)
        if "type" not in f:
            raise self.error(syntax, "<syntax> expected a primitive type element or <dataType ref=...>")
        named = f.get("data_type") if f.get("data_type") in NAMED_TYPES else None
        base_facets = self._resolved[named] if named else {}
        out: dict[str, Any] = {"type": named or f["type"]}
        lst = f.get("list")

        def own(key: str) -> Any:
            """The facet's value unless the named type already implies it."""
            value = f.get(key)
            return None if value is None or value == base_facets.get(key) else value

        if lst is not None:
            out["type"] = f"list<{out['type']}>"
            for key in ("min_items", "max_items", "max_length"):
                if key in lst:
                    out[key] = lst[key]
        else:
            self._lengths(out, f["type"], own("min_length"), own("max_length"))
        if own("enum"):
            out["enum"] = f["enum"]
        if own("ranges"):
            los, his = zip(*f["ranges"], strict=True)  # the format has one range: use the envelope
            out["range"] = [None if None in los else min(los), None if None in his else max(his)]
        if own("patterns"):
            pattern = _pattern(f["patterns"])
            if pattern is not None:
                out["pattern"] = pattern
        if f.get("units"):
            out["units"] = f["units"]
        if "path_ref" in f:
            targets = self._targets(obj_path, *f["path_ref"])
            if targets:
                out["reference"] = targets
                if f["path_ref"][0] == "strong":
                    out["strong"] = True
        if syntax.attrib.get("hidden") == "true" or syntax.attrib.get("secured") == "true":
            out["secured"] = True
        if owner.attrib.get("activeNotify") == "canDeny":
            out["value_change"] = "ignore"
        defaults: dict[str, str] = f.get("defaults", {})
        explicit = next((defaults[k] for k in _DEFAULT_PREFERENCE if k in defaults), None)
        default = _valid_default(out, explicit, synthesize=not argument)
        if default is not None:
            out["default"] = default
        return out

    @staticmethod
    def _lengths(out: dict[str, Any], base: str, low: int | None, high: int | None) -> None:
        """Add string length bounds; binary sizes count bytes, so widen them to encoded characters."""
        if base == "hexBinary" and high is not None:
            high *= 2
        elif base == "base64" and high is not None:
            high = 4 * ((high + 2) // 3)
        elif base not in ("string", "hexBinary", "base64"):
            return
        if low:
            out["min_length"] = low
        if high is not None:
            out["max_length"] = high

    def _targets(self, obj_path: str, ref_type: str, parents: list[str], target_type: str) -> list[str]:
        """Resolve ``pathRef targetParent`` paths (absolute, ``.``-rooted or ``#``-relative) to tables."""
        if ref_type not in ("strong", "weak") or target_type not in ("row", "any"):
            return []
        targets = []
        for parent in parents:
            if parent.startswith("Device."):
                path = parent
            elif parent.startswith("."):
                path = "Device" + parent
            elif parent.startswith("#"):
                base = obj_path
                stripped = parent.lstrip("#")
                for _ in range(len(parent) - len(stripped)):
                    base = _parent_path(base)
                path = base + stripped.lstrip(".")
            else:
                path = obj_path + parent
            if not path.endswith("{i}."):
                path += "{i}."
            if path in self.objects and path not in targets:
                targets.append(path)
        return targets

    # -- model walk ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Walk the document and return the profile document."""
        root = self.root
        if root.tag != "document":
            raise self.error(root, f"expected a <dm:document> root element, got <{root.tag}>")
        for element in root.findall("dataType"):
            name = element.attrib.get("name")
            if not name:
                raise self.error(element, "<dataType> expected a name= attribute")
            self.datatypes[name] = element
        models = list(root.findall("model"))
        if len(models) != 1:
            raise self.error(root, f"expected exactly one <model> element, found {len(models)}")
        elements = list(models[0].findall("object"))
        for element in elements:
            name = element.attrib.get("name", "")
            if not (name.startswith("Device.") and name.endswith(".")):
                raise self.error(element, f"<object name=...> expected a path like 'Device.X.', got {name!r}")
            if name in self.objects:
                raise self.error(element, f"object {name!r} is defined twice")
            self.objects.add(name)
        objects = {element.attrib["name"]: self.object(element) for element in elements}
        for name, obj in objects.items():
            self._link_num_entries(name, obj, objects)
        spec = root.attrib.get("spec", "")
        return {
            "format": 1,
            "name": f"BBF {models[0].attrib.get('name', '')} ({self.path.name})",
            "uri": re.sub(r"-(usp|cwmp)$", "", spec) or "urn:broadband-forum-org:tr-181-2-16-0",
            "objects": objects,
        }

    def object(self, element: Element) -> dict[str, Any]:
        """Describe one ``<object>``: table shape, access, keys, parameters, commands and events."""
        attrib = element.attrib
        name = attrib["name"]
        access = attrib.get("access", "readOnly")
        if access not in ("readOnly", "readWrite"):
            raise self.error(element, f"<object access=...> expected readOnly or readWrite, got {access!r}")
        result: dict[str, Any] = {}
        if name.endswith(".{i}."):
            if access == "readWrite":
                result["access"] = "readWrite"
            keys = []
            for key in element.findall("uniqueKey"):
                refs = [p.attrib.get("ref", "") for p in key.findall("parameter")]
                if not refs or not all(refs):
                    raise self.error(key, "<uniqueKey> expected one or more <parameter ref=...> children")
                keys.append(refs)
            if keys:
                result["keys"] = keys
            if attrib.get("numEntriesParameter"):
                result["num_entries"] = attrib["numEntriesParameter"]
            if attrib.get("maxEntries", "unbounded") != "unbounded":
                result["max_entries"] = self._int(element, "maxEntries")
        params: dict[str, Any] = {}
        commands: dict[str, Any] = {}
        events: dict[str, Any] = {}
        for child in element.children:
            if child.attrib.get("status") == "deleted":
                continue
            member = child.attrib.get("name", "")
            if child.tag == "parameter":
                params[member] = self.parameter(child, name)
            elif child.tag == "command":
                if not member.endswith("()"):
                    raise self.error(
                        child, f"<command name=...> expected a name ending in '()', got {member!r}"
                    )
                commands[member] = self.command(child, name)
            elif child.tag == "event":
                if not member.endswith("!"):
                    raise self.error(child, f"<event name=...> expected a name ending in '!', got {member!r}")
                args = self.arguments(child, name)
                events[member] = {"args": args} if args else {}
        for keyset in result.get("keys", []):
            missing = [key for key in keyset if key not in params]
            if missing:
                raise self.error(element, f"unique key {keyset} names parameters not defined here: {missing}")
        for part, members in (("params", params), ("commands", commands), ("events", events)):
            if members:
                result[part] = members
        return result

    @staticmethod
    def _link_num_entries(name: str, obj: dict[str, Any], objects: dict[str, Any]) -> None:
        """Keep ``num_entries`` only where it differs from the automatic ``<Table>NumberOfEntries`` link."""
        if not name.endswith(".{i}."):
            return
        auto = _table_name(name) + "NumberOfEntries"
        parent_params = objects.get(_parent_path(name), {}).get("params", {})
        given = obj.get("num_entries")
        if given is not None and given not in parent_params:
            del obj["num_entries"]  # names a parameter the parent lacks: nothing to link
            given = None
        if given == auto:
            del obj["num_entries"]
        elif given is None and auto in parent_params:
            obj["num_entries"] = None  # the parent has a same-named counter BBF does not link to this table

    def parameter(self, element: Element, obj_path: str) -> dict[str, Any]:
        """Describe one object ``<parameter>``: access plus its type attributes."""
        name = element.attrib.get("name", "")
        if not name or "." in name:
            raise self.error(element, f"<parameter name=...> expected a plain parameter name, got {name!r}")
        access = element.attrib.get("access", "readOnly")
        if access not in _PARAM_ACCESS:
            raise self.error(
                element, f"<parameter access=...> expected one of {sorted(_PARAM_ACCESS)}, got {access!r}"
            )
        typed = self.typed(element, obj_path)
        return {"type": typed.pop("type"), **({"access": access} if access != "readOnly" else {}), **typed}

    def command(self, element: Element, obj_path: str) -> dict[str, Any]:
        """Describe one ``<command>``: sync/async plus input and output arguments."""
        result: dict[str, Any] = {}
        if element.attrib.get("async") == "true":
            result["async"] = True
        for direction in ("input", "output"):
            container = element.find(direction)
            args = self.arguments(container, obj_path) if container is not None else {}
            if args:
                result[direction] = args
        return result

    def arguments(self, container: Element, obj_path: str) -> dict[str, Any]:
        """Flatten the argument parameters and argument objects of an input, output or event element.

        Argument objects are siblings that carry their full relative path (``Nodes.``,
        ``Nodes.Node.{i}.``), so an argument's name is that path plus the parameter name.
        """
        args: dict[str, Any] = {}
        members = [(container, "")]
        for child in container.findall("object"):
            prefix = child.attrib.get("name", "")
            if not prefix.endswith(".") or prefix.startswith("."):
                raise self.error(
                    child,
                    f"argument <object name=...> expected a relative path ending in '.', got {prefix!r}",
                )
            members.append((child, prefix))
        for holder, prefix in members:
            for param in holder.findall("parameter"):
                name = param.attrib.get("name", "")
                if not name:
                    raise self.error(param, "argument <parameter> expected a name= attribute")
                arg = self.typed(param, obj_path, argument=True)
                arg.pop("value_change", None)
                if param.attrib.get("mandatory") == "true":
                    arg["mandatory"] = True
                args[prefix + name] = arg
        return args


def _pattern(patterns: list[str]) -> str | None:
    """Join TR-106 patterns (alternatives, each matching the whole value) into one Python regex.

    Returns None when a pattern uses XML Schema syntax Python cannot compile; the value is then
    checked by its other facets only.
    """
    joined = "|".join(f"(?:{p})" for p in patterns) if len(patterns) > 1 else patterns[0]
    try:
        re.compile(joined)
    except re.error:
        return None
    return joined


def _valid_default(attrs: dict[str, Any], explicit: str | None, *, synthesize: bool) -> str | None:
    """Choose the ``default`` to emit for the type described by ``attrs`` (None: emit none).

    A BBF default that fails the engine's validation is dropped. When the engine's implicit default
    ("", 0, false...) would itself be invalid (an enumeration without "", a range excluding 0), the first
    enumeration value or the nearest range bound is used, so the imported model can be instantiated.
    """
    constraints: dict[str, Any] = {
        key: attrs[key]
        for key in ("enum", "min_length", "max_length", "pattern", "min_items", "max_items")
        if key in attrs
    }
    if "range" in attrs:
        constraints["lo"], constraints["hi"] = attrs["range"]
    spec = make_type(attrs["type"], **constraints)
    fallbacks = [*attrs.get("enum", ())[:1], *(str(b) for b in attrs.get("range", ()) if b is not None)]
    if not synthesize:
        fallbacks = []
    for index, candidate in enumerate([explicit, spec.default, *fallbacks]):
        if candidate is None:
            continue
        try:
            value = spec.normalize(candidate)
        except UspError:
            continue
        return None if index == 1 else value  # the implicit default needs no declaration
    return None


def import_bbf_xml(path: str | Path) -> dict[str, Any]:
    """Read a BBF ``*-usp-full.xml`` and return a profile declaring its whole supported model.

    The result has ``format``, ``name``, ``uri`` and ``objects`` and no ``instances``: tables start
    empty, so a profile can ``extends:`` it to serve the full model in GetSupportedDM while
    instantiating only a subset.

    Args:
        path: The XML file.

    Returns:
        The YAML document as plain Python data (see docs/datamodel-format.md).

    Raises:
        BbfImportError: The file is unreadable or not a cwmp-datamodel document; the message names the
            file, the element's line and what was expected.
    """
    xml_path = Path(path)
    return _Importer(xml_path, parse_tree(xml_path)).run()


def write_yaml(doc: dict[str, Any], out_path: str | Path) -> None:
    """Write ``doc`` as YAML, keeping key order (one line per parameter).

    Args:
        doc: A profile document, e.g. from :func:`import_bbf_xml`.
        out_path: Destination file; overwritten.
    """
    import yaml

    base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class _Dumper(base):  # type: ignore[valid-type,misc]
        """Flow style for leaf mappings and lists (one line per parameter), block style above them."""

    def leaf(value: object) -> bool:
        return not isinstance(value, dict | list) or (
            isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)
        )

    def mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
        flow = bool(data) and all(leaf(v) for v in data.values())
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)

    def sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=all(leaf(v) for v in data))

    _Dumper.add_representer(dict, mapping)
    _Dumper.add_representer(list, sequence)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    Path(out_path).write_text(text, encoding="utf-8")


def main_import(argv: Sequence[str] | None = None) -> int:
    """Run ``uspsim datamodel import <xml> -o <yaml>``.

    Args:
        argv: Arguments after ``datamodel import``; defaults to ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 when the import fails (the error is printed to stderr).
    """
    parser = argparse.ArgumentParser(
        prog="uspsim datamodel import", description="Convert a BBF *-usp-full.xml into a YAML profile."
    )
    parser.add_argument("xml", type=Path, help="BBF *-usp-full.xml file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="YAML profile to write")
    args = parser.parse_args(argv)
    try:
        doc = import_bbf_xml(args.xml)
        write_yaml(doc, args.output)
    except (BbfImportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
