"""Profile loading: errors name file, line and key path; overlays; instance ranges; caching."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.datamodel.errors import SchemaError, SimulatorError
from simulator.datamodel.generators import Generator
from simulator.datamodel.loader import load_schema
from simulator.datamodel.schema import ObjectNode, ParamAccess, ParamNode

HEAD = "format: 1\nobjects:\n  Device.:\n    params:\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loader_minimal_profile_shape(usp_minimal_schema) -> None:
    s = usp_minimal_schema
    ctrl = s.lookup("Device.LocalAgent.Controller.{i}.")
    assert isinstance(ctrl, ObjectNode) and ctrl.is_table and ctrl.keys == (("Alias",), ("EndpointID",))
    assert ctrl.num_entries is s.lookup("Device.LocalAgent.ControllerNumberOfEntries")
    alias = s.lookup("Device.LocalAgent.Controller.{i}.Alias")
    assert isinstance(alias, ParamNode) and alias.access is ParamAccess.WRITE_ONCE_READ_ONLY
    assert s.lookup("Device.Reboot()") is not None and s.lookup("Device.Boot!") is not None
    assert s.lookup("Device.LocalAgent.Periodic!") is not None
    assert [n.id for n in s.nodes] == list(range(len(s.nodes)))
    assert s.initial_tables[(ctrl.id, ())] == (1,)


def test_loader_caches_by_path_and_mtime(usp_minimal_schema, tmp_path: Path) -> None:
    assert load_schema(usp_minimal_schema.source) is usp_minimal_schema
    p = write(tmp_path, "a.yaml", HEAD + "      X: string\n")
    first = load_schema(p)
    assert load_schema(p) is first


@pytest.mark.parametrize(
    "body,line,key_path,reason",
    [
        ("      X: uint\n", 5, 'objects."Device.".params.X.type', "unknown type 'uint'"),
        ("      X: {type: string, colour: red}\n", 5, 'objects."Device.".params.X.colour', "unknown key"),
        (
            "      X: {type: unsignedInt, range: [1, 5], default: 9}\n",
            5,
            'objects."Device.".params.X.default',
            "outside the range",
        ),
        (
            "      X: {type: string, default: {gen: dice}}\n",
            5,
            'objects."Device.".params.X.default',
            "unknown generator",
        ),
        ("      X: boolean rx\n", 5, 'objects."Device.".params.X', "short form"),
    ],
)
def test_loader_errors_name_file_line_and_key_path(
    tmp_path: Path, body: str, line: int, key_path: str, reason: str
) -> None:
    p = write(tmp_path, "bad.yaml", HEAD + body)
    with pytest.raises(SchemaError) as info:
        load_schema(p)
    err = info.value
    assert isinstance(err, SimulatorError)
    assert (err.file, err.line, err.key_path) == (str(p), line, key_path)
    assert reason in err.reason
    assert f"{p}:{line}: {key_path}" in str(err)


def test_loader_broken_yaml_reports_line(tmp_path: Path) -> None:
    p = write(tmp_path, "broken.yaml", HEAD + "      X: [unclosed\n      Y: string\n")
    with pytest.raises(SchemaError, match="YAML syntax error") as info:
        load_schema(p)
    assert info.value.line >= 5


def test_loader_structural_errors(tmp_path: Path) -> None:
    cases = {
        "format: 2\n": "format",
        "format: 1\nobjectz: {}\n": "objectz",
        "format: 1\nobjects:\n  Device.A.{i}.B.: {}\n": 'objects."Device.A.{i}.B."',
        "format: 1\nobjects:\n  Device.:\n  Device.T.{i}.:\n    keys: [[Nope]]\n": (
            'objects."Device.T.{i}.".keys'
        ),
        HEAD + "      X: string\ninstances:\n  Device.T.1.: {}\n": 'instances."Device.T.1."',
        HEAD + "      X: string\ninstances:\n  Device.: {Y: 1}\n": 'instances."Device.".Y',
    }
    for i, (text, key_path) in enumerate(cases.items()):
        with pytest.raises(SchemaError) as info:
            load_schema(write(tmp_path, f"s{i}.yaml", text))
        assert info.value.key_path == key_path, text


def test_loader_overlay_extends_merges_and_removes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        HEAD + "      A: string = a\n      B: unsignedInt\n"
        "  Device.T.{i}.:\n    params:\n      Alias: Alias\ninstances:\n  Device.T.1..3.: {}\n",
    )
    p = write(
        tmp_path,
        "vendor.yaml",
        "format: 1\nextends: base.yaml\nremove: [Device.B]\n"
        "objects:\n  Device.:\n    params:\n      A: {default: vendor}\n      C: boolean\n"
        "instances:\n  Device.T.5.: {}\n",
    )
    s = load_schema(p)
    root = s.root
    assert set(root.params) == {"A", "C"}
    assert root.params["A"].default == "vendor" and root.params["A"].type.base == "string"
    table = s.lookup("Device.T.{i}.")
    assert s.initial_tables[(table.id, ())] == (1, 2, 3, 5)
    assert isinstance(table.params["Alias"].default, Generator)


def test_loader_remove_of_unknown_path_fails(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", HEAD + "      A: string\n")
    p = write(tmp_path, "v.yaml", "format: 1\nextends: base.yaml\nremove: [Device.Nope]\n")
    with pytest.raises(SchemaError, match="matches nothing"):
        load_schema(p)


def test_loader_cache_follows_every_file_of_the_extends_chain(tmp_path: Path) -> None:
    import os

    root = write(tmp_path, "root.yaml", HEAD + "      A: string = root\n")
    write(tmp_path, "mid.yaml", "format: 1\nextends: root.yaml\n")
    top = write(tmp_path, "top.yaml", "format: 1\nextends: mid.yaml\n")
    first = load_schema(top)
    assert first.root.params["A"].default == "root"
    assert load_schema(top) is first
    root.write_text(HEAD + "      A: string = changed\n")
    st = os.stat(root)
    os.utime(root, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # coarse-mtime filesystems
    second = load_schema(top)
    assert second is not first and second.root.params["A"].default == "changed"
    assert load_schema(top) is second
    (tmp_path / "mid.yaml").unlink()
    with pytest.raises(SchemaError, match="cannot read profile"):
        load_schema(top)


def test_c_and_pure_python_loaders_agree(tmp_path: Path) -> None:
    import yaml

    from simulator.datamodel.source import LOADERS, LDict, _PyLoader, read_document

    assert LOADERS[-1] is _PyLoader
    assert (LOADERS[0] is not _PyLoader) == yaml.__with_libyaml__  # the fast path is really used
    p = write(
        tmp_path,
        "both.yaml",
        "format: 1\nname: both\n# comment\nobjects:\n  Device.:\n    params:\n"
        "      A: {type: boolean, default: yes}\n      B: [1, 2.5, null, 'x', ~]\n"
        "      C:\n        type: string\n        default: |\n          multi\n          line\n"
        "instances: {}\n",
    )

    def lines(d: object) -> object:
        if isinstance(d, LDict):
            return (d.line, {k: (d.line_of(k), lines(v)) for k, v in d.items()})
        return d

    docs = [read_document(str(p), cls) for cls in LOADERS]
    assert all(lines(d) == lines(docs[0]) for d in docs)
    params = docs[0]["objects"]["Device."]["params"]
    assert params.line_of("C") == 9 and params["C"].line_of("default") == 11
    assert params["A"]["default"] is True and params["B"] == [1, 2.5, None, "x", None]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (HEAD + "      X: [unclosed\n      Y: string\n", 6, "YAML syntax error"),
        (HEAD + "      X: string\n      X: boolean\n", 6, "duplicate key"),
        (HEAD + "      ? [a, b]\n      : string\n", 5, "must be a string"),
    ],
)
def test_both_loaders_report_the_same_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    from simulator.datamodel.source import LOADERS, read_document

    p = write(tmp_path, "bad.yaml", text)
    for cls in LOADERS:
        with pytest.raises(SchemaError) as info:
            read_document(str(p), cls)
        assert (info.value.file, info.value.line) == (str(p), line), cls
        assert reason in str(info.value)
