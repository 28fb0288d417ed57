"""A BBF XML file read with expat into a small element tree (no DTDs, no entities)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from simulator.datamodel.errors import SimulatorError

__all__ = ["BbfImportError", "Element", "parse_tree"]

#: Subtrees the importer never needs; skipping them keeps the in-memory tree small and the import fast.
_SKIPPED = frozenset({"description", "bibliography", "profile", "template", "annotation"})


class BbfImportError(SimulatorError):
    """A BBF XML file could not be read or does not follow the cwmp-datamodel schema.

    Attributes:
        path: The XML file.
        line: The 1-based line of the offending element, or 0 when unknown.
    """

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass(slots=True)
class Element:
    """A parsed XML element: local tag name, attributes (local names), start line and children."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        """Return the first child with ``tag``, or None."""
        return next(self.findall(tag), None)

    def findall(self, tag: str) -> Iterator[Element]:
        """Yield every child with ``tag`` that is not marked ``status="deleted"``."""
        return (c for c in self.children if c.tag == tag and c.attrib.get("status") != "deleted")


def _local(name: str) -> str:
    """Strip a namespace prefix (``dm:document`` -> ``document``)."""
    return name.rpartition(":")[2]


def parse_tree(path: Path) -> Element:
    """Parse ``path`` with expat into an :class:`Element` tree, refusing DTDs and entities (no XXE).

    Raises:
        BbfImportError: The file is unreadable, malformed or declares a DTD or entity.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    roots: list[Element] = []
    skip_depth = 0

    def refuse(*_args: object) -> None:
        raise BbfImportError(path, parser.CurrentLineNumber, "DTDs and entity declarations are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal skip_depth
        tag = _local(name)
        if skip_depth or tag in _SKIPPED:
            skip_depth += 1
            return
        element = Element(tag, {_local(k): v for k, v in attrs.items()}, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_name: str) -> None:
        nonlocal skip_depth
        if skip_depth:
            skip_depth -= 1
        else:
            stack.pop()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as stream:
            parser.ParseFile(stream)
    except OSError as exc:
        raise BbfImportError(path, 0, f"cannot read the file: {exc.strerror or exc}") from exc
    except expat.ExpatError as exc:
        raise BbfImportError(path, exc.lineno, f"malformed XML: {expat.ErrorString(exc.code)}") from exc
    return roots[0]
