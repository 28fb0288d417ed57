"""The Get fast path (Schema.plans / ModelReader._values) returns exactly what ``store.read`` gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import ObjectNode

MODELS = Path(__file__).resolve().parents[3] / "datamodels"
NOW = 1_700_000_000.0


def _slow_get(dm: DataModel, now: float) -> list[tuple[str, dict[str, str]]]:
    """Reference: every object instance read parameter by parameter (the pre-plan algorithm)."""
    out: list[tuple[str, dict[str, str]]] = []
    store = dm.store

    def walk(node: ObjectNode, inst: tuple[int, ...]) -> None:
        if node.param_list:
            out.append(
                (
                    node.instance_path(inst),
                    {
                        p.name: "" if p.secured or not p.readable else store.read(p, inst, now)
                        for p in node.param_list
                    },
                )
            )
        for child in node.child_list:
            if child.is_table:
                for number in store.instances(child, inst):
                    walk(child, (*inst, number))
            else:
                walk(child, inst)

    walk(dm.schema.root, ())
    return out


@pytest.mark.parametrize("profile", ["minimal.yaml", "home-gateway.yaml"])
def test_plan_reads_match_store_reads(profile: str) -> None:
    schema = load_schema(MODELS / profile)
    dm = DataModel(schema, Persona(7, boot_time=NOW - 3600))
    for dt in (0.0, 0.4, 61.7):
        got = dm.get("Device.", now=NOW + dt)
        assert got == _slow_get(dm, NOW + dt)
        assert [list(v) for _, v in got] == [list(v) for _, v in _slow_get(dm, NOW + dt)]  # same order
    # after per-agent overrides, instance additions and deletions the plan still agrees
    store = dm.store
    tables = [n for n in schema.objects() if n.is_table and n.depth == 1 and store.instances(n, ())][:3]
    assert tables
    for table in tables:
        first, *_, last = (*store.instances(table, ()), 0)
        store.remove(table, (first,))
        store.create(table, (), first)  # a reused number: boot values are pinned back to defaults
        store.create(table, (), max(first, last) + 1)
    writable = [n for n in schema.objects() if n.depth == 0 and any(p.writable for p in n.param_list)][:3]
    for node in writable:
        for param in node.param_list:
            if param.writable and param.type.base == "string" and not param.reference:
                store.write(param, (), "override")
    assert dm.get("Device.", now=NOW + 5) == _slow_get(dm, NOW + 5)
