"""Device.BulkData.Profile.{i}. reports: scheduling, naming, JSON/CSV, Push! or HTTP (usp-protocol.md 10).

# Strategy: a report is built on demand from current values (nothing is retained per agent between
# reports). Each Parameter.{j}.Reference is evaluated with the data model's Get (wildcards and object
# paths included); names follow R-BULK.9/10: an empty Name keeps the full path, a Name with a wildcard
# Reference gets the matched instance numbers appended, a Name with an object Reference gets the rest
# of the parameter path appended. Reports fall at TimeReference + n * ReportingInterval.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from simulator.agent.actions import Action, CancelTimer, HttpPost, Observe, Schedule, Timer
from simulator.agent.commands.rows import read, table_node
from simulator.agent.context import iso8601
from simulator.datamodel.types import UNKNOWN_TIME, parse_datetime
from simulator.usp.errors import UspError
from simulator.usp.retry import retry_delay

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = ["BULKDATA_RETRY_TIMER", "BULKDATA_TIMER", "HttpDelivery", "Report", "build_report", "collect",
           "enabled_profiles", "merge_reports", "next_report_time"]

BULKDATA_TIMER = "bulkdata"
"""Timer kind of periodic reports; key ``(profile number,)``."""
BULKDATA_RETRY_TIMER = "bulkdata-retry"
"""Timer kind of HTTP report retries (HTTP.RetryEnable); key ``(profile number,)``."""
PROFILE_TABLE = "Device.BulkData.Profile.{i}."
_NUMERIC = {"int", "long", "unsignedInt", "unsignedLong"}


@dataclass(frozen=True, slots=True)
class Report:
    """One encoded report of one profile.

    Attributes:
        profile: the profile instance path without trailing dot.
        protocol: USPEventNotif | HTTP | MQTT.
        body: the encoded report (Push! Data, or the HTTP body).
        url: HTTP URL with the mandatory query parameters (R-BULK.1), else "".
        headers: HTTP headers, else ().
        content_type: the media type with charset (HTTP Content-Type, MQTT 5.0 Content Type).
        encoding: JSON | CSV (how retained reports are merged, see ``merge_reports``).
        row_separator: the CSV RowSeparator ("" for JSON).
        method: HTTP.Method (POST | PUT).
        mqtt_client: MQTT.Reference (Device.MQTT.Client.{i}), MQTT transport only.
        topic: MQTT.PublishTopic, MQTT transport only.
        qos: MQTT.PublishQoS.
        retain: MQTT.PublishRetain.
    """

    profile: str
    protocol: str
    body: str
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = ""
    encoding: str = "JSON"
    row_separator: str = ""
    method: str = "POST"
    mqtt_client: str = ""
    topic: str = ""
    qos: int = 0
    retain: bool = False


def enabled_profiles(ctx: AgentContext) -> list[int]:
    """Profile numbers with Enable=true, when Device.BulkData.Enable is true."""
    table = table_node(ctx, PROFILE_TABLE)
    if table is None or read(ctx, "Device.BulkData.Enable", "true") != "true":
        return []
    return [n for n in ctx.store.instances(table, ())
            if read(ctx, f"Device.BulkData.Profile.{n}.Enable") == "true"]


def next_report_time(ctx: AgentContext, number: int, now: float) -> float | None:
    """The next report time after ``now``: TimeReference + n * ReportingInterval."""
    base = f"Device.BulkData.Profile.{number}."
    try:
        interval = max(1, int(read(ctx, base + "ReportingInterval", "86400")))
    except ValueError:
        return None
    minimum = read(ctx, "Device.BulkData.MinReportingInterval", "0")
    interval = max(interval, int(minimum) if minimum.isdigit() else 0)
    ref_text = read(ctx, base + "TimeReference", UNKNOWN_TIME)
    if not ref_text or ref_text == UNKNOWN_TIME:
        return now + interval
    try:
        anchor = parse_datetime(ref_text)
    except UspError:
        return now + interval
    return anchor + (math.floor((now - anchor) / interval) + 1) * interval


def _name_for(name: str, reference: str, full: str) -> str:
    if not name:
        return full
    ref_parts, parts = reference.rstrip(".").split("."), full.split(".")
    if reference.endswith("."):
        return f"{name}.{'.'.join(parts[len(ref_parts):])}"
    picked = [p for r, p in zip(ref_parts, parts, strict=False) if r == "*" or r.startswith("[")]
    return ".".join((name, *picked)) if picked else name


def collect(ctx: AgentContext, number: int, now: float) -> list[tuple[str, str, str]]:
    """(report name, value, TR-106 base type) for every parameter the profile selects, in order.

    Parameters matched by an ``Exclude=true`` entry are removed (usp-protocol.md 10).
    """
    table = table_node(ctx, "Device.BulkData.Profile.{i}.Parameter.{i}.")
    if table is None:
        return []
    rows: list[tuple[str, str, str, str]] = []
    excluded: set[str] = set()
    for j in ctx.store.instances(table, (number,)):
        base = f"Device.BulkData.Profile.{number}.Parameter.{j}."
        reference = read(ctx, base + "Reference")
        if not reference:
            continue
        try:
            results = ctx.datamodel.get(reference, now=now)
        except (UspError, AttributeError):
            continue  # missing instances are simply left out (usp-protocol.md 10)
        exclude = read(ctx, base + "Exclude") == "true"
        name = read(ctx, base + "Name")
        for obj_path, params in results:
            for leaf, value in params.items():
                full = obj_path + leaf
                if exclude:
                    excluded.add(full)
                    continue
                found = ctx.locate_param(full)
                base_type = found[0].type.base if found is not None else "string"
                rows.append((_name_for(name, reference, full), value, base_type, full))
    return [(name, value, base_type) for name, value, base_type, full in rows if full not in excluded]


def _json_value(value: str, base_type: str) -> Any:
    if base_type in _NUMERIC:
        try:
            return int(value)
        except ValueError:
            return value
    if base_type == "decimal":
        try:
            return float(value)
        except ValueError:
            return value
    if base_type == "boolean":
        return value in ("true", "1")
    return value


def _timestamp(fmt: str, now: float) -> Any:
    return int(now) if fmt == "Unix-Epoch" else iso8601(now) if fmt == "ISO-8601" else None


def encode_json(rows: list[tuple[str, str, str]], report_format: str, timestamp: str, now: float) -> str:
    """``{"Report":[{...}]}`` in NameValuePair or ObjectHierarchy form, CollectionTime per ReportTimestamp."""
    report: dict[str, Any] = {}
    stamp = _timestamp(timestamp, now)
    if stamp is not None:
        report["CollectionTime"] = stamp
    for name, value, base_type in rows:
        converted = _json_value(value, base_type)
        if report_format == "NameValuePair":
            report[name] = converted
            continue
        node = report
        parts = name.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = converted
    return orjson.dumps({"Report": [report]}).decode()


def _csv_field(text: str, sep: str, quote_char: str) -> str:
    if any(c in text for c in (sep, quote_char, "\r", "\n")):
        return quote_char + text.replace(quote_char, quote_char * 2) + quote_char
    return text


def encode_csv(rows: list[tuple[str, str, str]], report_format: str, timestamp: str, now: float,  # noqa: PLR0917
               sep: str = ",", row_sep: str = "\r\n", quote_char: str = '"') -> str:
    """RFC 4180 report with header: ParameterPerRow or ParameterPerColumn, RowTimestamp per setting."""
    stamp = _timestamp(timestamp, now)
    lines: list[list[str]] = []
    if report_format == "ParameterPerRow":
        header = ["ParameterName", "ParameterValue", "ParameterType"]
        lines.append((["ReportTimestamp"] if stamp is not None else []) + header)
        for name, value, base_type in rows:
            lines.append(([str(stamp)] if stamp is not None else []) + [name, value, base_type])
    else:
        lines.append((["ReportTimestamp"] if stamp is not None else []) + [r[0] for r in rows])
        lines.append(([str(stamp)] if stamp is not None else []) + [r[1] for r in rows])
    return row_sep.join(sep.join(_csv_field(f, sep, quote_char) for f in line) for line in lines) + row_sep


def merge_reports(parts: list[str], encoding: str, row_separator: str = "\r\n") -> str:
    """One report body holding several reports, oldest first (retained failed reports, usp-protocol.md 10).

    JSON: the ``Report`` arrays are concatenated. CSV: the first report's header line, then the data
    rows of every report (the header is not repeated).
    """
    if len(parts) == 1:
        return parts[0]
    if encoding != "CSV":
        reports: list[Any] = []
        for part in parts:
            try:
                reports += orjson.loads(part).get("Report", [])
            except (orjson.JSONDecodeError, AttributeError):
                continue
        return orjson.dumps({"Report": reports}).decode()
    sep = row_separator or "\r\n"
    header, _, first_rows = parts[0].partition(sep)
    rows = [first_rows] + [part.partition(sep)[2] for part in parts[1:]]
    return header + sep + "".join(rows)


def build_report(ctx: AgentContext, number: int, now: float) -> Report:
    """Collect and encode one report of Profile.{number} for its Protocol and EncodingType."""
    base = f"Device.BulkData.Profile.{number}."
    rows = collect(ctx, number, now)
    encoding = read(ctx, base + "EncodingType", "JSON")
    row_sep = ""
    if encoding == "CSV":
        fmt = read(ctx, base + "CSVEncoding.ReportFormat", "ParameterPerColumn")
        row_sep = read(ctx, base + "CSVEncoding.RowSeparator", "\r\n") or "\r\n"
        body = encode_csv(rows, fmt, read(ctx, base + "CSVEncoding.RowTimestamp", "Unix-Epoch"), now,
                          read(ctx, base + "CSVEncoding.FieldSeparator", ",") or ",", row_sep,
                          read(ctx, base + "CSVEncoding.EscapeCharacter", '"') or '"')
        content_type = "text/csv; charset=UTF-8; header=present"
    else:
        encoding = "JSON"
        fmt = read(ctx, base + "JSONEncoding.ReportFormat", "ObjectHierarchy")
        body = encode_json(rows, fmt, read(ctx, base + "JSONEncoding.ReportTimestamp", "Unix-Epoch"), now)
        content_type = "application/json; charset=UTF-8"
    protocol = read(ctx, base + "Protocol", "USPEventNotif")
    if protocol == "MQTT":
        qos = read(ctx, base + "MQTT.PublishQoS", "0")
        return Report(base.rstrip("."), protocol, body, content_type=content_type, encoding=encoding,
                      row_separator=row_sep, mqtt_client=read(ctx, base + "MQTT.Reference").rstrip("."),
                      topic=read(ctx, base + "MQTT.PublishTopic"), qos=int(qos) if qos.isdigit() else 0,
                      retain=read(ctx, base + "MQTT.PublishRetain") == "true")
    if protocol != "HTTP":
        return Report(base.rstrip("."), protocol, body, content_type=content_type, encoding=encoding,
                      row_separator=row_sep)
    url = read(ctx, base + "HTTP.URL")
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in (
        ("oui", read(ctx, "Device.DeviceInfo.ManufacturerOUI")),
        ("pc", read(ctx, "Device.DeviceInfo.ProductClass")),
        ("sn", read(ctx, "Device.DeviceInfo.SerialNumber"))))
    url = f"{url}{'&' if '?' in url else '?'}{query}" if url else ""
    headers = [("Content-Type", content_type), ("BBF-Report-Format", f'"{fmt}"')]
    if read(ctx, base + "HTTP.UseDateHeader", "true") == "true":
        headers.append(("Date", formatdate(now, usegmt=True)))
    return Report(base.rstrip("."), protocol, body, url, tuple(headers), content_type, encoding, row_sep,
                  read(ctx, base + "HTTP.Method", "POST") or "POST")


# -- HTTP delivery: retries and retained failed reports (usp-protocol.md 10, TP-469 10.7) ----------------
# Strategy: per profile at most one report is in flight: the HttpPost last emitted, made of one or more
# single reports (retained failed ones first, then the new one). The driver's verdict
# (``Agent.http_result``) clears it on success; on failure, with HTTP.RetryEnable, the identical body is
# re-posted after RW(RetryMinimumWaitInterval, RetryIntervalMultiplier) as long as that falls before the
# next reporting time; otherwise its reports become "retained", up to NumberOfRetainedFailedReports
# (-1 = as many as possible, capped at MAX_RETAINED), and ride along with the next report. A report the
# driver never gave a verdict on counts as delivered (fire-and-forget drivers keep working).

MAX_RETAINED = 64
"""Cap of NumberOfRetainedFailedReports = -1 ("as many as possible")."""


@dataclass(slots=True)
class _InFlight:
    parts: list[str]
    report: Report
    body: bytes
    failed: bool = False
    attempt: int = 0


class HttpDelivery:
    """The HTTP bulk-data delivery state of one agent (created on the first HTTP report)."""

    __slots__ = ("inflight", "retained")

    def __init__(self) -> None:
        self.inflight: dict[int, _InFlight] = {}
        self.retained: dict[int, list[str]] = {}

    def post(self, ctx: AgentContext, number: int, report: Report) -> list[Action]:
        """Emit the HttpPost of a new report of Profile.{number}, retained failed reports first."""
        out: list[Action] = []
        previous = self.inflight.pop(number, None)
        if previous is not None and previous.failed:
            out.append(CancelTimer(Timer(BULKDATA_RETRY_TIMER, (number,))))
            self._retain(ctx, number, previous.parts)
        parts = [*self.retained.pop(number, []), report.body]
        body = merge_reports(parts, report.encoding, report.row_separator).encode()
        self.inflight[number] = _InFlight(parts, report, body)
        out.append(HttpPost(report.url, body, report.headers, report.profile, report.method))
        return out

    def result(self, ctx: AgentContext, number: int, ok: bool, now: float,
               rng: random.Random) -> list[Action]:
        """The driver's verdict on the in-flight report: done, retry later, or retain."""
        flight = self.inflight.get(number)
        if flight is None or flight.failed:
            return []
        if ok:
            del self.inflight[number]
            return [Observe("bulkdata_http", "HTTP", float(flight.attempt), 0)]
        out: list[Action] = [Observe("bulkdata_http", "HTTP", float(flight.attempt), 1)]
        base = f"Device.BulkData.Profile.{number}.HTTP."
        if read(ctx, base + "RetryEnable") == "true":
            m = read(ctx, base + "RetryMinimumWaitInterval", "5")
            k = read(ctx, base + "RetryIntervalMultiplier", "2000")
            delay = retry_delay(flight.attempt + 1, float(m) if m.isdigit() and int(m) else 5.0,
                                max(int(k), 1000) if k.isdigit() else 2000, rng)
            next_report = next_report_time(ctx, number, now)
            if next_report is None or now + delay < next_report:
                flight.failed = True
                flight.attempt += 1
                out.append(Schedule(now + delay, Timer(BULKDATA_RETRY_TIMER, (number,))))
                return out
        del self.inflight[number]
        self._retain(ctx, number, flight.parts)
        return out

    def retry(self, number: int, now: float) -> list[Action]:
        """The retry timer fired: post the identical report again (fresh Date header)."""
        flight = self.inflight.get(number)
        if flight is None or not flight.failed:
            return []
        flight.failed = False
        report = flight.report
        headers = tuple((k, formatdate(now, usegmt=True) if k == "Date" else v) for k, v in report.headers)
        return [HttpPost(report.url, flight.body, headers, report.profile, report.method),
                Observe("bulkdata_retry", "HTTP", float(flight.attempt))]

    def forget(self, number: int, *, keep_retained: bool = False) -> list[Action]:
        """Drop the profile's in-flight report (and its retained ones unless ``keep_retained``)."""
        flight = self.inflight.pop(number, None)
        if not keep_retained:
            self.retained.pop(number, None)
        if flight is None or not flight.failed:
            return []
        return [CancelTimer(Timer(BULKDATA_RETRY_TIMER, (number,)))]

    def _retain(self, ctx: AgentContext, number: int, parts: list[str]) -> None:
        limit_text = read(ctx, f"Device.BulkData.Profile.{number}.NumberOfRetainedFailedReports", "0")
        try:
            limit = int(limit_text)
        except ValueError:
            limit = 0
        limit = MAX_RETAINED if limit < 0 else min(limit, MAX_RETAINED)
        kept = self.retained.get(number, []) + parts
        if limit == 0:
            self.retained.pop(number, None)
        else:
            self.retained[number] = kept[-limit:]
