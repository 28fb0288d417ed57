"""DeviceInfo.FirmwareImage.{i}.Download() and Activate() (usp-protocol.md 6.3, TP 9.3-9.8).

Download moves the image Status through Downloading -> Validating -> Available (or DownloadFailed /
ValidationFailed at the configured rates), fires TransferComplete! and, with AutoActivate, reboots into
the image. Activate waits for the first TimeWindow's Start offset, then reboots into the image:
ActiveFirmwareImage and SoftwareVersion change and Boot! says FirmwareUpdated=true.
"""

from __future__ import annotations

from simulator.agent.commands.rows import read, write
from simulator.agent.context import iso8601
from simulator.agent.events import BootCause
from simulator.agent.operate import Done, Failed, Host, Later, Outcome, Run, command
from simulator.usp.errors import ErrorCode

DEVICE_INFO = "Device.DeviceInfo."


def _image(run: Run) -> str:
    return run.obj_path  # "Device.DeviceInfo.FirmwareImage.2."


def _version_from_url(url: str, fallback: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    for ext in (".bin", ".img", ".tar", ".gz", ".itb"):
        name = name.removesuffix(ext)
    digits = [p for p in name.replace("_", "-").split("-") if p[:1].isdigit()]
    return digits[-1] if digits else fallback


def _transfer_complete(host: Host, run: Run, now: float, fault: int, fault_string: str) -> None:
    host.emit_event("Device.LocalAgent.", "TransferComplete", {
        "Command": run.command, "CommandKey": run.command_key, "Requestor": run.originator,
        "TransferType": "Download", "Affected": _image(run).rstrip("."),
        "TransferURL": run.args.get("URL", ""),
        "StartTime": iso8601(run.started), "CompleteTime": iso8601(now),
        "FaultCode": str(fault), "FaultString": fault_string}, now)


def activate_image(host: Host, run: Run, now: float) -> None:
    """Point ActiveFirmwareImage/SoftwareVersion at the image and reboot (Boot! FirmwareUpdated=true)."""
    ctx = host.ctx
    image = _image(run)
    old_active = read(ctx, DEVICE_INFO + "ActiveFirmwareImage").rstrip(".")
    if old_active and old_active + "." != image:
        write(ctx, old_active + ".Status", "Available")
    write(ctx, image + "Status", "Active")
    write(ctx, DEVICE_INFO + "ActiveFirmwareImage", image.rstrip("."))
    write(ctx, DEVICE_INFO + "BootFirmwareImage", image.rstrip("."))
    version = read(ctx, image + "Version")
    if version:
        write(ctx, DEVICE_INFO + "SoftwareVersion", version)
    host.reboot(BootCause("RemoteReboot", run.command_key, "Firmware activation", firmware_updated=True), now)


def _validated(host: Host, run: Run, now: float) -> Outcome:
    image = _image(run)
    if host.rng.random() < host.options.validation_failure_rate:
        write(host.ctx, image + "Status", "ValidationFailed")
        _transfer_complete(host, run, now, 9018, "File corrupted or otherwise unusable")
        return Failed(ErrorCode.COMMAND_FAILURE, "Image validation failed (checksum mismatch)")
    write(host.ctx, image + "Status", "Available")
    write(host.ctx, image + "Available", "true")
    _transfer_complete(host, run, now, 0, "")
    if run.args.get("AutoActivate") == "true":
        activate_image(host, run, now)
    return Done({})


def _downloaded(host: Host, run: Run, now: float) -> Outcome:
    image = _image(run)
    if host.rng.random() < host.options.download_failure_rate:
        write(host.ctx, image + "Status", "DownloadFailed")
        _transfer_complete(host, run, now, 9010, "Download failure: server unreachable")
        return Failed(ErrorCode.COMMAND_FAILURE, "Download failed")
    write(host.ctx, image + "Status", "Validating")
    return Later(host.options.validate_time, _validated)


@command("Device.DeviceInfo.FirmwareImage.{i}.Download()", mandatory=("URL", "AutoActivate"))
def download(host: Host, run: Run, now: float) -> Outcome:
    """Start downloading into this bank; refuses the active bank (TP 9.7)."""
    ctx = host.ctx
    image = _image(run)
    if read(ctx, DEVICE_INFO + "ActiveFirmwareImage").rstrip(".") + "." == image:
        return Failed(ErrorCode.COMMAND_FAILURE, "Cannot download into the active firmware image")
    url = run.args.get("URL", "")
    write(ctx, image + "Status", "Downloading")
    write(ctx, image + "Available", "false")
    version = _version_from_url(url, read(ctx, image + "Version") or "0.0.0")
    write(ctx, image + "Version", version)
    write(ctx, image + "Name", url.rstrip("/").rsplit("/", 1)[-1][:64])
    return Later(host.options.download_time, _downloaded)


def _activate_now(host: Host, run: Run, now: float) -> Outcome:
    if read(host.ctx, _image(run) + "Status", "Available") not in ("Available", "Active"):
        return Failed(ErrorCode.COMMAND_FAILURE, "Image is not available for activation")
    activate_image(host, run, now)
    return Done({})


@command("Device.DeviceInfo.FirmwareImage.{i}.Activate()")
def activate(host: Host, run: Run, now: float) -> Outcome:
    """Activate at the first TimeWindow's Start (Immediately/AnyTime); no window -> now."""
    starts = sorted((k for k in run.args if k.startswith("TimeWindow.") and k.endswith(".Start")),
                    key=lambda k: int(k.split(".")[1]) if k.split(".")[1].isdigit() else 0)
    delay = 0.0
    if starts:
        window = starts[0].rsplit(".", 1)[0]
        mode = run.args.get(window + ".Mode", "AnyTime")
        try:
            start, end = int(run.args[starts[0]]), int(run.args.get(window + ".End", "0") or 0)
        except ValueError:
            return Failed(ErrorCode.INVALID_COMMAND_ARGS, "Invalid TimeWindow")
        if end and end < start:
            return Failed(ErrorCode.INVALID_COMMAND_ARGS, "TimeWindow End before Start")
        delay = 0.0 if mode == "Immediately" else float(start)
    return Later(delay, _activate_now)
