"""IP.Diagnostics IPPing/TraceRoute/DownloadDiagnostics/UploadDiagnostics and WiFi.NeighboringWiFiDiagnostic.

Results are plausible and deterministic per agent and target: a private ``random.Random`` is seeded from
the persona seed and the command inputs, so the same agent pinging the same host gets the same answer.
"""

from __future__ import annotations

import random

from simulator.agent.commands.rows import read
from simulator.agent.context import iso8601
from simulator.agent.operate import Done, Host, Later, Outcome, Run, command


def _rng(host: Host, run: Run, *keys: str) -> random.Random:
    return random.Random(f"{host.ctx.store.persona.seed}|{run.name}|{'|'.join(keys)}")


def _wan_address(host: Host) -> str:
    for path in ("Device.IP.Interface.1.IPv4Address.1.IPAddress",
                 "Device.IP.Interface.2.IPv4Address.1.IPAddress"):
        value = read(host.ctx, path)
        if value:
            return value
    seed = host.ctx.store.persona.seed
    return f"100.{64 + seed % 64}.{(seed >> 8) % 256}.{1 + (seed >> 16) % 254}"


def _unresolvable(target: str) -> bool:
    return not target or target.endswith(".invalid") or target.startswith("unresolvable")


def _ping_result(host: Host, run: Run, now: float) -> Outcome:
    target = run.args.get("Host", "")
    if _unresolvable(target):
        return Done({"Status": "Error_CannotResolveHostName", "SuccessCount": "0", "FailureCount": "0"})
    rng = _rng(host, run, target)
    count = max(1, int(run.args.get("NumberOfRepetitions") or 1))
    base = rng.uniform(2.0, 40.0)
    times = [base * rng.uniform(0.8, 1.6) for _ in range(count)]
    lost = sum(1 for _ in range(count) if rng.random() < 0.02)
    ok = times[: count - lost] or [0.0]
    us = [int(t * 1000) for t in ok]
    return Done({
        "Status": "Complete", "IPAddressUsed": _wan_address(host),
        "SuccessCount": str(count - lost), "FailureCount": str(lost),
        "AverageResponseTime": str(round(sum(ok) / len(ok))), "MinimumResponseTime": str(round(min(ok))),
        "MaximumResponseTime": str(round(max(ok))),
        "AverageResponseTimeDetailed": str(sum(us) // len(us)), "MinimumResponseTimeDetailed": str(min(us)),
        "MaximumResponseTimeDetailed": str(max(us)),
    })


@command("Device.IP.Diagnostics.IPPing()", mandatory=("Host",), defaults={"NumberOfRepetitions": "3",
         "Timeout": "1000", "DataBlockSize": "64", "DSCP": "0", "ProtocolVersion": "Any"})
def ipping(host: Host, run: Run, now: float) -> Outcome:
    """Async IPPing: per-repetition RTTs around a per-target base latency."""
    return Later(host.options.diagnostic_time, _ping_result)


def _trace_result(host: Host, run: Run, now: float) -> Outcome:
    target = run.args.get("Host", "")
    if _unresolvable(target):
        return Done({"Status": "Error_CannotResolveHostName", "ResponseTime": "0"})
    rng = _rng(host, run, target)
    tries = int(run.args.get("NumberOfTries") or 3)
    max_hops = int(run.args.get("MaxHopCount") or 30)
    hops = min(rng.randint(5, 14), max_hops)
    out = {"IPAddressUsed": _wan_address(host)}
    rtt = 0.5
    for i in range(1, hops + 1):
        rtt += rng.uniform(0.3, 6.0)
        last = i == hops
        hop = f"10.{i}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        address = target if last and target[:1].isdigit() else hop
        out[f"RouteHops.{i}.Host"] = target if last else f"hop{i}.isp.example.net"
        out[f"RouteHops.{i}.HostAddress"] = address
        out[f"RouteHops.{i}.ErrorCode"] = "0"
        out[f"RouteHops.{i}.RTTimes"] = ",".join(str(max(1, round(rtt * rng.uniform(0.9, 1.2))))
                                                 for _ in range(tries))
    out["ResponseTime"] = str(round(rtt))
    out["Status"] = "Complete" if hops < max_hops or hops >= 5 else "Error_MaxHopCountExceeded"
    return Done(out)


@command("Device.IP.Diagnostics.TraceRoute()", mandatory=("Host",), defaults={
    "NumberOfTries": "3", "Timeout": "5000", "DataBlockSize": "38", "DSCP": "0", "MaxHopCount": "30",
    "ProtocolVersion": "Any"})
def traceroute(host: Host, run: Run, now: float) -> Outcome:
    """Async TraceRoute: 5-14 hops with NumberOfTries RTTs each (defaults 3 / 5000 ms, TP 1.92)."""
    return Later(host.options.diagnostic_time, _trace_result)


def _transfer(host: Host, run: Run, now: float, upload: bool) -> Outcome:
    url = run.args.get("UploadURL" if upload else "DownloadURL", "")
    rng = _rng(host, run, url)
    mbps = rng.uniform(40.0, 900.0) * (0.2 if upload else 1.0)
    size = int(run.args.get("TestFileLength") or 0) if upload else 0
    seconds = max(0.5, host.options.diagnostic_time)
    size = size or int(mbps * 125_000 * seconds)
    rom = now - seconds - 0.05
    out = {"Status": "Complete", "IPAddressUsed": _wan_address(host), "ROMTime": iso8601(rom),
           "BOMTime": iso8601(rom + 0.02), "EOMTime": iso8601(now), "TCPOpenRequestTime": iso8601(rom),
           "TCPOpenResponseTime": iso8601(rom + 0.01), "PeriodOfFullLoading": str(int(seconds * 1e6))}
    if upload:
        out.update({"TestBytesSent": str(size), "TotalBytesSent": str(size + 4096),
                    "TotalBytesReceived": str(2048 + size // 100)})
    else:
        out.update({"TestBytesReceived": str(size), "TotalBytesReceived": str(size + 4096),
                    "TotalBytesSent": str(2048 + size // 100)})
    if url.startswith("http://unreachable") or _unresolvable(url.split("//")[-1].split("/")[0]):
        return Done({"Status": "Error_CannotResolveHostName"})
    return Done(out)


@command("Device.IP.Diagnostics.DownloadDiagnostics()", mandatory=("DownloadURL",))
def download_diagnostics(host: Host, run: Run, now: float) -> Outcome:
    """Async HTTP download test with a per-agent line rate."""
    return Later(host.options.diagnostic_time, lambda h, r, t: _transfer(h, r, t, False))


@command("Device.IP.Diagnostics.UploadDiagnostics()", mandatory=("UploadURL",))
def upload_diagnostics(host: Host, run: Run, now: float) -> Outcome:
    """Async HTTP upload test."""
    return Later(host.options.diagnostic_time, lambda h, r, t: _transfer(h, r, t, True))


_SSIDS = ("FRITZ!Box 7590", "Vodafone-4F2A", "TP-Link_8C21", "NETGEAR42", "eduroam", "Livebox-19E0",
          "SKY1A2B3", "BTHub6-XK9Q", "Telekom_FON", "DIRECT-5B-HP Printer", "linksys", "Pixel_7731")


def _neighbours(host: Host, run: Run, now: float) -> Outcome:
    rng = _rng(host, run, "wifi")
    out = {"Status": "Complete"}
    bands = (("2.4GHz", (1, 6, 11), "b,g,n,ax", "20MHz"), ("5GHz", (36, 44, 100, 149), "a,n,ac,ax", "80MHz"),
             ("6GHz", (37, 69, 101), "ax", "160MHz"))
    for i in range(1, rng.randint(4, 12) + 1):
        band, channels, standards, width = bands[rng.choice((0, 0, 0, 1, 1, 2))]
        radio = {"2.4GHz": 1, "5GHz": 2, "6GHz": 3}[band]
        mac = "%02X:%02X:%02X:%02X:%02X:%02X" % (rng.choice((0x3C, 0x98, 0xE4, 0x2C)),  # noqa: UP031
                                                 *(rng.randint(0, 255) for _ in range(5)))
        security = rng.choice(("WPA2", "WPA2", "WPA-WPA2", "WPA2-WPA3", "WPA3", "None"))
        out.update({
            f"Result.{i}.Radio": f"Device.WiFi.Radio.{radio}", f"Result.{i}.SSID": rng.choice(_SSIDS),
            f"Result.{i}.BSSID": mac, f"Result.{i}.Mode": "Infrastructure",
            f"Result.{i}.Channel": str(rng.choice(channels)),
            f"Result.{i}.SignalStrength": str(rng.randint(-92, -38)),
            f"Result.{i}.SecurityModeEnabled": security,
            f"Result.{i}.EncryptionMode": "" if security == "None" else "AES",
            f"Result.{i}.OperatingFrequencyBand": band, f"Result.{i}.SupportedStandards": standards,
            f"Result.{i}.OperatingStandards": standards.rsplit(",", 1)[-1],
            f"Result.{i}.OperatingChannelBandwidth": width, f"Result.{i}.BeaconPeriod": "100",
            f"Result.{i}.Noise": str(rng.randint(-98, -88)),
            f"Result.{i}.BasicDataTransferRates": "1,2,5.5,11" if band == "2.4GHz" else "6,12,24",
            f"Result.{i}.SupportedDataTransferRates": "1,2,5.5,11,6,9,12,18,24,36,48,54"
            if band == "2.4GHz" else "6,9,12,18,24,36,48,54",
            f"Result.{i}.DTIMPeriod": str(rng.choice((1, 2, 3))),
        })
    return Done(out)


@command("Device.WiFi.NeighboringWiFiDiagnostic()")
def neighboring_wifi(host: Host, run: Run, now: float) -> Outcome:
    """Async scan returning 4-12 neighbouring BSSs across the three bands."""
    return Later(host.options.diagnostic_time, _neighbours)
