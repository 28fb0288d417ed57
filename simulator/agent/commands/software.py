"""SoftwareModules InstallDU(), DeploymentUnit Update()/Uninstall(), ExecutionUnit SetRequestedState().

DU/EU rows are created and removed by the agent; every DU operation ends with DUStateChange!
(usp-protocol.md 5.7) carrying the operation, the resulting state and a fault when it failed.
"""

from __future__ import annotations

import uuid

from simulator.agent.commands.rows import add_row, delete_row, read, table_node, write
from simulator.agent.context import iso8601
from simulator.agent.operate import Done, Failed, Host, Later, Outcome, Run, command
from simulator.usp.errors import ErrorCode

SM = "Device.SoftwareModules."
DU_TABLE = SM + "DeploymentUnit.{i}."
EU_TABLE = SM + "ExecutionUnit.{i}."


def _state_change(host: Host, run: Run, now: float, operation: str, state: str, du: str, eus: str,  # noqa: PLR0917
                  fault: int = 0, fault_string: str = "") -> None:
    ctx = host.ctx
    host.emit_event(SM, "DUStateChange", {
        "UUID": run.state.get("uuid") or read(ctx, du + ".UUID"), "DeploymentUnitRef": du,
        "Version": run.state.get("version") or read(ctx, du + ".Version"), "CurrentState": state,
        "Resolved": "true" if state == "Installed" else "false", "ExecutionUnitRefList": eus,
        "StartTime": iso8601(run.started), "CompleteTime": iso8601(now), "OperationPerformed": operation,
        "Fault.FaultCode": str(fault), "Fault.FaultString": fault_string}, now)


def _name_version(url: str) -> tuple[str, str]:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    for ext in (".tar.gz", ".tgz", ".tar", ".ipk", ".oci"):
        name = name.removesuffix(ext)
    base, _, version = name.rpartition("-")
    return (base, version) if base and version[:1].isdigit() else (name or "app", "1.0.0")


def _installed(host: Host, run: Run, now: float) -> Outcome:
    ctx = host.ctx
    url = run.args.get("URL", "")
    if host.rng.random() < host.options.install_failure_rate or "invalid" in url:
        _state_change(host, run, now, "Install", "Failed", "", "", 9012, "File transfer failure")
        return Failed(ErrorCode.COMMAND_FAILURE, "InstallDU failed: file transfer failure")
    name, version = run.state["name"], run.state["version"]
    env = run.args.get("ExecutionEnvRef") or "Device.SoftwareModules.ExecEnv.1"
    du_table, eu_table = table_node(ctx, DU_TABLE), table_node(ctx, EU_TABLE)
    du = eu = ""
    if eu_table is not None:
        eu_inst = add_row(ctx, eu_table, (), {"EUID": f"eu-{name}-{now:.0f}"[:64], "Name": name[:32],
                                              "ExecEnvLabel": f"{name}.1"[:64], "Status": "Idle",
                                              "Version": version, "ExecutionEnvRef": env})
        eu = f"Device.SoftwareModules.ExecutionUnit.{eu_inst[-1]}"
    if du_table is not None:
        du_inst = add_row(ctx, du_table, (), {"UUID": run.state["uuid"], "DUID": f"du-{name}"[:64],
                                              "Name": name,
                                              "Status": "Installed", "Resolved": "true", "URL": url,
                                              "Version": version, "ExecutionUnitList": eu,
                                              "ExecutionEnvRef": env, "Installed": iso8601(now),
                                              "LastUpdate": iso8601(now)})
        du = f"Device.SoftwareModules.DeploymentUnit.{du_inst[-1]}"
    _state_change(host, run, now, "Install", "Installed", du, eu)
    return Done({})


@command("Device.SoftwareModules.InstallDU()", mandatory=("URL",))
def install_du(host: Host, run: Run, now: float) -> Outcome:
    """Async: creates DeploymentUnit/ExecutionUnit rows after ``install_time``; DUStateChange!(Install)."""
    name, version = _name_version(run.args.get("URL", ""))
    seed = f"{host.ctx.store.persona.seed}|{run.args.get('URL', '')}"
    run.state.update(name=name, version=version,
                     uuid=run.args.get("UUID") or str(uuid.uuid5(uuid.NAMESPACE_URL, seed)))
    return Later(host.options.install_time, _installed)


def _updated(host: Host, run: Run, now: float) -> Outcome:
    du = run.obj_path.rstrip(".")
    eus = read(host.ctx, du + ".ExecutionUnitList")
    if host.rng.random() < host.options.install_failure_rate:
        write(host.ctx, du + ".Status", "Installed")
        _state_change(host, run, now, "Update", "Installed", du, eus, 9012, "File transfer failure")
        return Failed(ErrorCode.COMMAND_FAILURE, "Update failed: file transfer failure")
    url = run.args.get("URL") or read(host.ctx, du + ".URL")
    _, version = _name_version(url)
    run.state["version"] = version
    updates = (("URL", url), ("Version", version), ("Status", "Installed"), ("LastUpdate", iso8601(now)))
    for name, value in updates:
        write(host.ctx, f"{du}.{name}", value)
    for eu in filter(None, (e.strip() for e in eus.split(","))):
        write(host.ctx, eu + ".Version", version)
    _state_change(host, run, now, "Update", "Installed", du, eus)
    return Done({})


@command("Device.SoftwareModules.DeploymentUnit.{i}.Update()")
def update_du(host: Host, run: Run, now: float) -> Outcome:
    """Async: Status Updating, then the new Version; DUStateChange!(Update)."""
    write(host.ctx, run.obj_path + "Status", "Updating")
    return Later(host.options.install_time, _updated)


def _uninstalled(host: Host, run: Run, now: float) -> Outcome:
    ctx = host.ctx
    du = run.obj_path.rstrip(".")
    run.state.update(uuid=read(ctx, du + ".UUID"), version=read(ctx, du + ".Version"))
    eus = read(ctx, du + ".ExecutionUnitList")
    eu_table, du_table = table_node(ctx, EU_TABLE), table_node(ctx, DU_TABLE)
    for eu in filter(None, (e.strip() for e in eus.split(","))):
        number = eu.rsplit(".", 1)[-1]
        if eu_table is not None and number.isdigit():
            delete_row(ctx, eu_table, (int(number),))
    if du_table is not None:
        delete_row(ctx, du_table, run.inst)
    _state_change(host, run, now, "Uninstall", "UnInstalled", du, eus)
    return Done({})


@command("Device.SoftwareModules.DeploymentUnit.{i}.Uninstall()")
def uninstall_du(host: Host, run: Run, now: float) -> Outcome:
    """Async: Status Uninstalling, then the DU and its EUs go away; DUStateChange!(Uninstall)."""
    write(host.ctx, run.obj_path + "Status", "Uninstalling")
    return Later(host.options.install_time, _uninstalled)


@command("Device.SoftwareModules.ExecutionUnit.{i}.SetRequestedState()", mandatory=("RequestedState",))
def set_requested_state(host: Host, run: Run, now: float) -> Outcome:
    """Sync: EU Status Idle <-> Active; starting on a disabled ExecEnv gives 7012 (usp-protocol.md 6.3)."""
    ctx = host.ctx
    wanted = run.args.get("RequestedState", "")
    if wanted not in ("Idle", "Active"):
        return Failed(ErrorCode.INVALID_COMMAND_ARGS, "RequestedState must be Idle or Active")
    env = read(ctx, run.obj_path + "ExecutionEnvRef")
    if wanted == "Active" and env and read(ctx, env + ".Enable", "true") != "true":
        return Failed(ErrorCode.INVALID_VALUE, "Execution environment is disabled")
    write(ctx, run.obj_path + "Status", wanted)
    if env:
        active = [e for e in read(ctx, env + ".ActiveExecutionUnits").split(",") if e]
        me = run.obj_path.rstrip(".")
        active = [e for e in active if e != me] + ([me] if wanted == "Active" else [])
        write(ctx, env + ".ActiveExecutionUnits", ",".join(active))
    return Done({})
