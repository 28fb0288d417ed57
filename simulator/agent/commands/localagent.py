"""LocalAgent/MTP commands: SendOnBoardRequest(), AddCertificate(), ForceCollection(), ForceReconnect().

``Device.LocalAgent.Request.{i}.Cancel()`` is handled by the Operate engine itself (it owns the runs).
"""

from __future__ import annotations

import hashlib

from simulator.agent.commands.rows import add_row, read, table_node, write
from simulator.agent.operate import Done, Failed, Host, Outcome, Run, command
from simulator.usp.errors import ErrorCode


@command("Device.LocalAgent.Controller.{i}.SendOnBoardRequest()")
def send_onboard_request(host: Host, run: Run, now: float) -> Outcome:
    """Sync: OnBoardRequest to this Controller (enabled rows only); resets OnBoardingComplete (TP 1.101)."""
    if read(host.ctx, run.obj_path + "Enable") != "true":
        return Failed(ErrorCode.COMMAND_FAILURE, "Controller is disabled")
    write(host.ctx, run.obj_path + "OnBoardingComplete", "false")
    host.send_onboard(run.inst[-1], now)
    return Done({})


@command("Device.LocalAgent.AddCertificate()", mandatory=("Certificate",))
def add_certificate(host: Host, run: Run, now: float) -> Outcome:
    """Sync: adds a Certificate.{i} row (SerialNumber/Issuer derived from the PEM digest)."""
    ctx = host.ctx
    pem = run.args.get("Certificate", "")
    if not pem.strip():
        return Failed(ErrorCode.INVALID_COMMAND_ARGS, "Certificate is empty")
    table = table_node(ctx, "Device.LocalAgent.Certificate.{i}.")
    if table is None:
        return Done({})
    digest = hashlib.sha256(pem.encode()).hexdigest()
    values = {"SerialNumber": digest[:32].upper(), "Issuer": "CN=Simulated CA " + digest[32:40],
              "Enable": "true"}
    if run.args.get("Alias"):
        values["Alias"] = run.args["Alias"]
    for number in ctx.store.instances(table, ()):
        if read(ctx, f"Device.LocalAgent.Certificate.{number}.SerialNumber") == values["SerialNumber"]:
            return Failed(ErrorCode.COMMAND_FAILURE, "Certificate already present")
    add_row(ctx, table, (), values)
    return Done({})


@command("Device.BulkData.Profile.{i}.ForceCollection()")
def force_collection(host: Host, run: Run, now: float) -> Outcome:
    """Sync: report now through the profile's transport."""
    host.force_collection(run.inst[-1], now)
    return Done({})


@command("Device.MQTT.Client.{i}.ForceReconnect()")
def force_reconnect(host: Host, run: Run, now: float) -> Outcome:
    """Sync: answer, then drop and re-establish the MQTT connection shortly after."""
    host.reconnect("force-reconnect", host.options.reconnect_delay)
    return Done({})
