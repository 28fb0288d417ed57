"""Shared fixtures for the data-model engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import Schema

MINIMAL = Path(__file__).resolve().parents[3] / "datamodels" / "minimal.yaml"


@pytest.fixture(scope="session")
def usp_minimal_schema() -> Schema:
    return load_schema(MINIMAL)


@pytest.fixture
def dm(usp_minimal_schema: Schema) -> DataModel:
    model = DataModel(usp_minimal_schema, Persona(7, boot_time=1000.0))
    # the 4.4 example DM: subscriptions 1 and 4, a second controller
    model.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::other"}, now=0)
    model.add("Device.LocalAgent.Controller.2.MTP.", {"Protocol": "WebSocket"}, now=0)
    model.add(
        "Device.LocalAgent.Subscription.",
        {"ID": "boot", "Enable": "true", "NotifType": "Event", "Recipient": "Device.LocalAgent.Controller.1"},
        now=0,
    )
    for n in (2, 3, 4):
        model.add(
            "Device.LocalAgent.Subscription.",
            {
                "ID": f"vc{n - 3}" if n == 4 else f"tmp{n}",
                "NotifType": "ValueChange",
                "NotifExpiration": "30",
                "Recipient": "Device.LocalAgent.Controller.1",
            },
            now=0,
        )
    model.delete("Device.LocalAgent.Subscription.2.")
    model.delete("Device.LocalAgent.Subscription.3.")
    model.drain_changes()
    return model
