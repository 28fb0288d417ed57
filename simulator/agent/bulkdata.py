"""Device.BulkData.Profile.{i}. reports: scheduling, naming, JSON/CSV, Push! or HTTP (usp-protocol.md 10).

# Strategy: a report is built on demand from current values (nothing is retained per agent between
# reports). Each Parameter.{j}.Reference is evaluated with the data model's Get (wildcards and object
# paths included); names follow R-BULK.9/10: an empty Name keeps the full path, a Name with a wildcard
# Reference gets the matched instance numbers appended, a Name with an object Reference gets the rest
# of the parameter path appended. Reports fall at TimeReference + n * ReportingInterval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from simulator.agent.commands.rows import read, table_node
from simulator.agent.context import iso8601
from simulator.datamodel.types import UNKNOWN_TIME, parse_datetime
from simulator.usp.errors import UspError

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = ["BULKDATA_TIMER", "Report", "build_report", "collect", "enabled_profiles", "next_report_time"]

BULKDATA_TIMER = "bulkdata"
"""Timer kind of periodic reports; key ``(profile number,)``."""
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
    """

    profile: str
    protocol: str
    body: str
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()


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


def build_report(ctx: AgentContext, number: int, now: float) -> Report:
    """Collect and encode one report of Profile.{number} for its Protocol and EncodingType."""
    base = f"Device.BulkData.Profile.{number}."
    rows = collect(ctx, number, now)
    encoding = read(ctx, base + "EncodingType", "JSON")
    if encoding == "CSV":
        fmt = read(ctx, base + "CSVEncoding.ReportFormat", "ParameterPerColumn")
        body = encode_csv(rows, fmt, read(ctx, base + "CSVEncoding.RowTimestamp", "Unix-Epoch"), now,
                          read(ctx, base + "CSVEncoding.FieldSeparator", ",") or ",",
                          read(ctx, base + "CSVEncoding.RowSeparator", "\r\n") or "\r\n",
                          read(ctx, base + "CSVEncoding.EscapeCharacter", '"') or '"')
        content_type = "text/csv; charset=UTF-8; header=present"
    else:
        fmt = read(ctx, base + "JSONEncoding.ReportFormat", "ObjectHierarchy")
        body = encode_json(rows, fmt, read(ctx, base + "JSONEncoding.ReportTimestamp", "Unix-Epoch"), now)
        content_type = "application/json; charset=UTF-8"
    protocol = read(ctx, base + "Protocol", "USPEventNotif")
    if protocol != "HTTP":
        return Report(base.rstrip("."), protocol, body)
    url = read(ctx, base + "HTTP.URL")
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in (
        ("oui", read(ctx, "Device.DeviceInfo.ManufacturerOUI")),
        ("pc", read(ctx, "Device.DeviceInfo.ProductClass")),
        ("sn", read(ctx, "Device.DeviceInfo.SerialNumber"))))
    url = f"{url}{'&' if '?' in url else '?'}{query}" if url else ""
    headers = [("Content-Type", content_type), ("BBF-Report-Format", f'"{fmt}"')]
    if read(ctx, base + "HTTP.UseDateHeader", "true") == "true":
        headers.append(("Date", formatdate(now, usegmt=True)))
    return Report(base.rstrip("."), protocol, body, url, tuple(headers))
