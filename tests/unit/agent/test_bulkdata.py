"""Bulk Data reports (usp-protocol.md 10): encodings, naming, Push! vs HttpPost."""

from __future__ import annotations

import json

from test_tp469_notify import body, call, connect, make, schedules, split, subscribe

from simulator.agent.actions import HttpPost
from simulator.agent.bulkdata import encode_csv, encode_json
from simulator.usp.requests import Event, Operate, Set, UpdateObject, UpdateParamSetting

ROWS = [
    ("Device.DeviceInfo.UpTime", "42", "unsignedInt"),
    ("Device.DeviceInfo.HostName", "hgw", "string"),
    ("Device.WiFi.Radio.1.Enable", "true", "boolean"),
]


def test_json_name_value_pair_with_epoch_timestamp() -> None:
    """10 JSON NameValuePair: flat names, typed values, numeric CollectionTime."""
    report = json.loads(encode_json(ROWS, "NameValuePair", "Unix-Epoch", 1_700_000_000.5))
    assert report == {
        "Report": [
            {
                "CollectionTime": 1700000000,
                "Device.DeviceInfo.UpTime": 42,
                "Device.DeviceInfo.HostName": "hgw",
                "Device.WiFi.Radio.1.Enable": True,
            }
        ]
    }


def test_json_object_hierarchy_iso_and_none_timestamps() -> None:
    """10 JSON ObjectHierarchy: nested objects, instances as keys; ISO-8601 or no CollectionTime."""
    report = json.loads(encode_json(ROWS, "ObjectHierarchy", "ISO-8601", 1_700_000_000))["Report"][0]
    assert report["CollectionTime"] == "2023-11-14T22:13:20Z"
    assert report["Device"]["WiFi"]["Radio"]["1"]["Enable"] is True
    assert "CollectionTime" not in json.loads(encode_json(ROWS, "ObjectHierarchy", "None", 0))["Report"][0]


def test_csv_parameter_per_row_and_per_column() -> None:
    """10 CSV: mandatory header; ParameterPerRow has name/value/type columns; per-column one row."""
    per_row = encode_csv(ROWS, "ParameterPerRow", "Unix-Epoch", 1_700_000_000).split("\r\n")
    assert per_row[0] == "ReportTimestamp,ParameterName,ParameterValue,ParameterType"
    assert per_row[1] == "1700000000,Device.DeviceInfo.UpTime,42,unsignedInt"
    per_col = encode_csv([("a", "x,y", "string")], "ParameterPerColumn", "None", 0)
    assert per_col == 'a\r\n"x,y"\r\n'


def _enable(pair, **params: str) -> None:  # type: ignore[no-untyped-def]
    call(
        pair,
        Set(
            False,
            (
                UpdateObject(
                    "Device.BulkData.Profile.1.",
                    tuple(UpdateParamSetting(k, v, True) for k, v in {"Enable": "true", **params}.items()),
                ),
            ),
        ),
    )


def test_push_event_via_uspeventnotif_with_names() -> None:
    """10 USPEventNotif: Push! with Data, R-BULK.9/10 naming, interval scheduling."""
    pair = make()
    connect(pair)
    subscribe(pair, "push", "Event", "Device.BulkData.Profile.1.Push!")
    _enable(pair)
    timer = schedules(pair.actions, "bulkdata")[-1]
    assert (timer.at - 1_704_067_200) % 300 == 0 and timer.at > pair.now
    _, notifies = split(pair, pair.agent.fire(timer.timer, timer.at))
    event = body(notifies[0][1]).notification
    assert isinstance(event, Event) and event.event_name == "Push!"
    report = json.loads(event.params["Data"])["Report"][0]
    assert isinstance(report["UpTime"], int)
    assert any(k.startswith("RadioStats.") for k in report)


def test_force_collection_over_http() -> None:
    """10 HTTP: ForceCollection() -> HttpPost with oui/pc/sn query and the mandatory headers."""
    pair = make()
    _enable(pair, Protocol="HTTP", EncodingType="CSV")
    call(
        pair,
        Set(
            False,
            (
                UpdateObject(
                    "Device.BulkData.Profile.1.HTTP.",
                    (UpdateParamSetting("URL", "http://collector.example.com/bulk", True),),
                ),
            ),
        ),
    )
    _, record = pair.controller.request(Operate("Device.BulkData.Profile.1.ForceCollection()", "", True, {}))
    posts = [a for a in pair.send(record) if isinstance(a, HttpPost)]
    assert len(posts) == 1
    post = posts[0]
    assert post.url == "http://collector.example.com/bulk?oui=00D09E&pc=HomeGateway&sn=SIM00000007"
    headers = dict(post.headers)
    assert headers["Content-Type"] == "text/csv; charset=UTF-8; header=present"
    assert headers["BBF-Report-Format"] == '"ParameterPerColumn"' and "Date" in headers
    assert post.body.decode().startswith("ReportTimestamp,UpTime")
