"""Bulk Data delivery (usp-protocol.md 10): MQTT transport (TP-469 10.13), HTTP retry and retained reports."""

from __future__ import annotations

import json
from typing import Any

from test_tp469_notify import call, make, schedules

from simulator.agent.actions import Action, HttpPost, MqttPublish, Observe, Send
from simulator.agent.bulkdata import merge_reports
from simulator.usp.requests import Operate, Set, UpdateObject, UpdateParamSetting

PROFILE = "Device.BulkData.Profile.1"
URL = "http://collector.example.com/bulk"


def _set(pair: Any, obj: str, **params: str) -> None:
    settings = tuple(UpdateParamSetting(k, v, True) for k, v in params.items())
    call(pair, Set(False, (UpdateObject(obj, settings),)))


def _http_profile(pair: Any, **http: str) -> None:
    _set(pair, PROFILE + ".", Enable="true", Protocol="HTTP", ReportingInterval="300",
         **{k: v for k, v in http.items() if k in ("NumberOfRetainedFailedReports", "EncodingType")})
    _set(pair, PROFILE + ".HTTP.", URL=URL,
         **{k: v for k, v in http.items() if k not in ("NumberOfRetainedFailedReports", "EncodingType")})


def _collect(pair: Any) -> list[Action]:
    _, record = pair.controller.request(Operate(PROFILE + ".ForceCollection()", "", True, {}))
    return pair.send(record)


def _posts(actions: list[Action]) -> list[HttpPost]:
    return [a for a in actions if isinstance(a, HttpPost)]


def _reports(post: HttpPost) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = json.loads(post.body)["Report"]
    return reports


def test_tp469_10_13_bulk_data_over_mqtt() -> None:
    """TP-469 10.13: Protocol MQTT publishes the bare report (no Record) to MQTT.PublishTopic through the
    referenced Client, with PublishQoS/PublishRetain and the media type for the MQTT 5 Content Type."""
    pair = make()
    _set(pair, PROFILE + ".", Enable="true", Protocol="MQTT")
    _set(pair, PROFILE + ".MQTT.", Reference="Device.MQTT.Client.1", PublishTopic="bulk/hgw",
         PublishQoS="1", PublishRetain="true")
    out = _collect(pair)
    (pub,) = [a for a in out if isinstance(a, MqttPublish)]
    assert (pub.client, pub.topic, pub.qos, pub.retain) == ("Device.MQTT.Client.1", "bulk/hgw", 1, True)
    assert pub.content_type == "application/json; charset=UTF-8" and pub.profile == PROFILE
    assert "UpTime" in json.loads(pub.payload)["Report"][0]
    assert not [s for s in out if isinstance(s, Send) and s.msg_type.startswith("Notify")]
    timer = schedules(pair.actions, "bulkdata")[-1]
    assert [a for a in pair.agent.fire(timer.timer, timer.at) if isinstance(a, MqttPublish)]


def test_bulk_data_mqtt_without_topic_is_dropped() -> None:
    """10: an MQTT profile without PublishTopic sends nothing (Observe bulkdata_dropped)."""
    pair = make()
    _set(pair, PROFILE + ".", Enable="true", Protocol="MQTT")
    out = _collect(pair)
    assert not [a for a in out if isinstance(a, MqttPublish)]
    assert any(isinstance(a, Observe) and a.name == "bulkdata_dropped" for a in out)


def test_tp469_10_7_http_retry_backoff_then_success() -> None:
    """TP-469 10.7: with RetryEnable a failed POST is retried after RW(m, k) (5-10 s, then 10-20 s) with
    the identical body; success ends the retries and the next report carries only itself."""
    pair = make()
    _http_profile(pair, RetryEnable="true")
    (post,) = _posts(_collect(pair))
    assert post.profile == PROFILE and post.method == "POST"
    (retry,) = schedules(pair.agent.http_result(PROFILE, False, pair.now), "bulkdata-retry")
    assert 5 <= retry.at - pair.now <= 10
    (again,) = _posts(pair.agent.fire(retry.timer, retry.at))
    assert again.body == post.body and again.url == post.url
    (retry2,) = schedules(pair.agent.http_result(PROFILE, False, retry.at), "bulkdata-retry")
    assert 10 <= retry2.at - retry.at <= 20
    again2 = _posts(pair.agent.fire(retry2.timer, retry2.at))
    assert len(again2) == 1
    done = pair.agent.http_result(PROFILE, True, retry2.at)
    assert not schedules(done, "bulkdata-retry")
    assert any(isinstance(a, Observe) and a.name == "bulkdata_http" and a.error == 0 for a in done)
    assert len(_reports(_posts(_collect(pair))[0])) == 1


def test_http_retry_stops_before_the_next_report() -> None:
    """10: retries only run until the next reporting interval; then the report is retained (if allowed)."""
    pair = make()
    _http_profile(pair, RetryEnable="true", RetryMinimumWaitInterval="65535",
                  NumberOfRetainedFailedReports="1")
    _collect(pair)
    assert not schedules(pair.agent.http_result(PROFILE, False, pair.now), "bulkdata-retry")
    assert len(_reports(_posts(_collect(pair))[0])) == 2


def test_retained_failed_reports_ride_with_the_next_report() -> None:
    """10: NumberOfRetainedFailedReports keeps the newest N failed reports, sent before the new one; an
    unanswered report counts as delivered; 0 keeps nothing."""
    pair = make()
    _http_profile(pair, NumberOfRetainedFailedReports="1")
    first = _posts(_collect(pair))[0]
    pair.agent.http_result(PROFILE, False, pair.now)
    pair.advance(1)
    second = _posts(_collect(pair))[0]
    assert len(_reports(second)) == 2 and _reports(second)[0] == _reports(first)[0]
    pair.agent.http_result(PROFILE, False, pair.now)
    pair.advance(1)
    third = _reports(_posts(_collect(pair))[0])
    assert len(third) == 2 and third[0] == _reports(second)[1]  # only the newest failed one is kept
    assert len(_reports(_posts(_collect(pair))[0])) == 1  # third had no verdict: delivered
    _set(pair, PROFILE + ".", NumberOfRetainedFailedReports="0")
    _collect(pair)
    pair.agent.http_result(PROFILE, False, pair.now)
    assert len(_reports(_posts(_collect(pair))[0])) == 1


def test_encoding_change_drops_retained_reports() -> None:
    """10: changing EncodingType drops the retained reports."""
    pair = make()
    _http_profile(pair, NumberOfRetainedFailedReports="-1")
    _collect(pair)
    pair.agent.http_result(PROFILE, False, pair.now)
    _set(pair, PROFILE + ".", EncodingType="CSV")
    body = _posts(_collect(pair))[0].body.decode()
    assert body.count("ReportTimestamp") == 1 and len(body.strip().split("\r\n")) == 2


def test_http_method_put_is_passed_on() -> None:
    """10: HTTP.Method PUT reaches the driver in HttpPost.method."""
    pair = make()
    _http_profile(pair, Method="PUT")
    assert _posts(_collect(pair))[0].method == "PUT"


def test_merge_reports_json_and_csv() -> None:
    """10: JSON concatenates the Report arrays; CSV keeps one header and appends the data rows."""
    merged = json.loads(merge_reports(['{"Report":[{"a":1}]}', '{"Report":[{"a":2}]}'], "JSON"))
    assert merged == {"Report": [{"a": 1}, {"a": 2}]}
    csv = merge_reports(["h1,h2\r\n1,2\r\n", "h1,h2\r\n3,4\r\n"], "CSV", "\r\n")
    assert csv == "h1,h2\r\n1,2\r\n3,4\r\n"
