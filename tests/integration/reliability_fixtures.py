"""Fixtures for the reliability and security tests: a mosquitto we may kill and restart on the SAME port,
and a TLS mosquitto (CA, server and client certificates generated at test time with the ``openssl`` CLI).

Everything binds 127.0.0.1; every wait is bounded. Import the fixtures into a test module
(``from reliability_fixtures import restartable_broker, tls_material, ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fixtures_broker import require_mosquitto

from simulator.agent.agent import Agent
from simulator.fleet.config import BrokerConfig, ControllerConfig, GroupConfig, ScenarioConfig
from simulator.fleet.localbroker import Mosquitto as LocalMosquitto
from simulator.fleet.localbroker import free_port
from simulator.fleet.mtp import Link, mqtt_settings
from simulator.fleet.probe import Probe, ProbeTimeoutError, mqtt_probe
from simulator.fleet.runner import Fleet, TransportFactory
from simulator.transports.base import Transport, TransportError
from simulator.transports.mqtt import MqttTransport
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Get,
    Notify,
    Set,
    UpdateObject,
    UpdateParamSetting,
)
from simulator.usp.responses import AddOperationSuccess, AddResp, GetResp, SetResp


class Mosquitto(LocalMosquitto):
    """A restartable mosquitto (see ``LocalMosquitto``) that logs warnings too and runs as this user.

    As root mosquitto drops to user "mosquitto", which cannot read our temporary PKI files.
    """

    def __init__(self, binary: str, workdir: Path, port: int, extra_conf: str = "") -> None:
        super().__init__(
            binary, workdir, port, extra_conf, log_types=("error", "warning"), user=getpass.getuser()
        )


@pytest.fixture
def restartable_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private mosquitto on a free port, started; the test may ``kill()`` and ``start()`` it again."""
    broker = Mosquitto(require_mosquitto(), tmp_path, free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# ------------------------------------------------------------------------------------------------ TLS


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files of a throw-away PKI: a CA, a server cert for 127.0.0.1 (IP SAN) and a client cert."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_ca(d: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip


def _make_leaf(d: Path, name: str, cn: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d,
    )  # fmt: skip


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """Generate the PKI once per session (``openssl`` CLI; skips when it is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("pki")
    _make_ca(d, "ca")
    _make_ca(d, "other-ca")
    _make_leaf(
        d,
        "server",
        "127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    _make_leaf(d, "client", "usp-sim-client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    return TlsMaterial(
        d / "ca.pem",
        d / "server.pem",
        d / "server.key",
        d / "client.pem",
        d / "client.key",
        d / "other-ca.pem",
    )


def tls_listener_conf(m: TlsMaterial, *, require_certificate: bool, password_file: Path | None = None) -> str:
    """Mosquitto config lines for a TLS listener (use as ``extra_conf``)."""
    lines = [
        f"cafile {m.ca}",
        f"certfile {m.server_cert}",
        f"keyfile {m.server_key}",
        "tls_version tlsv1.2",
        f"require_certificate {'true' if require_certificate else 'false'}",
    ]
    if password_file is not None:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        lines.append("allow_anonymous true")
    return "\n".join(lines) + "\n"


def make_password_file(path: Path, users: dict[str, str]) -> Path:
    """A mosquitto password file (``mosquitto_passwd -b``; skips when it is missing)."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not installed")
    path.write_text("")
    for user, password in users.items():
        subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True, timeout=30)
    path.chmod(0o600)
    return path


@pytest.fixture
def tls_broker(tmp_path: Path, tls_material: TlsMaterial) -> Iterator[Mosquitto]:
    """A mosquitto TLS listener on 127.0.0.1 that requires a client certificate signed by the CA."""
    broker = Mosquitto(
        require_mosquitto(), tmp_path, free_port(), tls_listener_conf(tls_material, require_certificate=True)
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# ------------------------------------------------------------------------------------------ outage run

MINIMAL = str(Path(__file__).resolve().parents[2] / "datamodels" / "minimal.yaml")


def established_to(port: int) -> int:
    """ESTABLISHED TCP connections to 127.0.0.1:``port`` in this network namespace (client side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


class QuietProbe(Probe):
    """A probe that can stop answering Notifies (a controller that is slow or never answers)."""

    answer_notifies = True

    def _on_notify(self, sender: str, msg: Msg, notify: Notify, reply_to: str | None) -> None:
        if not self.answer_notifies and notify.send_resp:
            notify = dataclasses.replace(notify, send_resp=False)
        super()._on_notify(sender, msg, notify, reply_to)


def outage_scenario(host: str, port: int, prefix: str, count: int, profile: str = MINIMAL) -> ScenarioConfig:
    """``count`` agents of ``profile`` on the broker, topics under ``prefix``."""
    controller = ControllerConfig(
        endpoint_id="proto::ctl-outage",
        agent_topic=prefix + "/agent/{endpoint_id}",
        controller_topic=f"{prefix}/controller",
        boot_subscription=False,
    )
    group = GroupConfig("outage", profile, count, "os::012345-OUT{index:06d}", "mqtt", 5, 5000.0, "")
    return ScenarioConfig(
        "outage", "<test>", BrokerConfig(f"mqtt://{host}:{port}", host, port), controller, (group,)
    )


def quiet_probe(sc: ScenarioConfig, host: str, port: int, timeout: float = 10.0) -> QuietProbe:
    """A ``QuietProbe`` on the scenario's controller topic."""
    base = mqtt_probe(sc.controller, host, port, timeout=timeout)
    return QuietProbe(base.transport, base.controller_id, base.agent_topic, timeout=timeout)


def retry_factory(retry_time: int | None, multiplier: int = 2000) -> TransportFactory | None:
    """A transport factory with another ConnectRetryTime (None: the agents' own, 5 s by default)."""
    if retry_time is None:
        return None

    def make(agent: Agent, link: Link) -> Transport:
        settings = dataclasses.replace(
            mqtt_settings(agent, link), connect_retry_time=retry_time, connect_retry_multiplier=multiplier
        )
        return MqttTransport(settings, lambda _p: None)

    return make


def reconnect_budget(
    outage: float, retry_time: float, multiplier: int, max_interval: float = 30720.0
) -> float:
    """Worst-case seconds from the broker's return until an agent's next attempt (TR-369 R-MQTT.33 back-off).

    An agent that lost the broker at t=0 makes attempt n after at least sum(L_1..L_n) seconds, where
    attempt i waits in [L_i, U_i] = [t*k^(i-1), t*k^i] (capped at ``max_interval``). Attempts that start
    before the broker is back fail; the first attempt after ``outage`` succeeds, at most U_(n+1) after
    the last failed one, i.e. at most U_(n+1) after the broker returned.
    """
    k = multiplier / 1000
    elapsed, n = 0.0, 0
    while True:
        lower = min(retry_time * k**n, max_interval)
        if elapsed + lower > outage:
            return min(retry_time * k ** (n + 1), max_interval)
        elapsed += lower
        n += 1


@dataclass
class OutageReport:
    """What ``broker_outage`` measured."""

    agents: int
    outage_s: float
    budget_s: float
    recovery_s: float
    max_reconnect_s: float
    connection_lost: int
    reconnects: int
    connects_per_agent: dict[int, int] = field(default_factory=dict)
    sockets_after: int = 0
    failed: int = 0
    notify_msg_id: str = ""
    notify_resent: bool = False
    notify_retries_seen: int = 0
    notify_pending_after: int = -1
    gets_answered: int = 0
    state_intact: bool = False
    ramp_s: float = 0.0
    errors: list[str] = field(default_factory=list)


async def broker_outage(  # noqa: PLR0915
    broker: Mosquitto,
    count: int,
    *,
    outage: float = 2.0,
    retry_time: int | None = 1,
    prefix: str = "usp-sim-outage",
    settle: float = 60.0,
) -> OutageReport:
    """Kill the broker under a connected fleet, restart it on the same port, measure the recovery.

    Before the outage, agent 0 gets a ValueChange subscription with NotifRetry=true (retry every
    second: USPNotifRetryMinimumWaitInterval=1, multiplier 1000), and a Set triggers a Notify the quiet
    probe does not answer. The broker is SIGKILLed, kept down ``outage`` seconds, then restarted.
    """
    host, port = "127.0.0.1", broker.port
    sc = outage_scenario(host, port, prefix, count)
    multiplier = 2000
    fleet = Fleet(sc, transport_factory=retry_factory(retry_time, multiplier), strict_agents=True)
    probe = quiet_probe(sc, host, port)
    loop = asyncio.get_running_loop()
    connect_times: list[float] = []
    fleet.metrics.events.add_listener(
        lambda **kw: connect_times.append(loop.time()) if kw.get("name") == "connect" else None
    )
    budget = reconnect_budget(outage, retry_time or 5, multiplier)
    report = OutageReport(count, outage, budget, -1.0, -1.0, 0, 0)
    try:
        await probe.connect()
        t0 = loop.time()
        await fleet.start()
        st = await fleet.wait_connected(settle)
        report.ramp_s = loop.time() - t0
        if st.connected != count:
            report.errors.append(f"only {st.connected}/{count} connected before the outage")
            return report
        target = fleet.drivers[0].endpoint_id
        ctl = "Device.LocalAgent.Controller.1."
        resp = await probe.request(
            target,
            Set(False, (UpdateObject(ctl, (
                UpdateParamSetting("USPNotifRetryMinimumWaitInterval", "1", True),
                UpdateParamSetting("USPNotifRetryIntervalMultiplier", "1000", True),
            )),)),
        )  # fmt: skip
        assert isinstance(resp.body, SetResp), resp
        resp = await probe.request(
            target,
            Add(False, (CreateObject("Device.LocalAgent.Subscription.", (
                CreateParamSetting("ID", "outage-1"),
                CreateParamSetting("Enable", "true"),
                CreateParamSetting("NotifType", "ValueChange"),
                CreateParamSetting("NotifRetry", "true"),
                CreateParamSetting("ReferenceList", "Device.DeviceInfo.ProvisioningCode"),
            )),)),
        )  # fmt: skip
        assert isinstance(resp.body, AddResp), resp
        status = resp.body.created_obj_results[0].oper_status
        assert isinstance(status, AddOperationSuccess), status
        sub_path = status.instantiated_path
        probe.answer_notifies = False
        resp = await probe.request(
            target,
            Set(False, (UpdateObject("Device.DeviceInfo.", (
                UpdateParamSetting("ProvisioningCode", "before-outage", True),),),)),
        )  # fmt: skip
        assert isinstance(resp.body, SetResp), resp
        first = await probe.wait_notification(
            lambda n: n.endpoint_id == target and n.kind == "Notify:ValueChange", 5.0
        )
        report.notify_msg_id = first.msg_id
        # -- outage --
        await asyncio.to_thread(broker.kill)
        t_kill = loop.time()
        await asyncio.sleep(outage)
        await asyncio.to_thread(broker.start)
        t_up = loop.time()
        report.outage_s = t_up - t_kill
        report.budget_s = reconnect_budget(report.outage_s, retry_time or 5, multiplier)
        report.connection_lost = int(fleet.metrics.stats.count("connection_lost"))
        async with asyncio.timeout(10):
            while True:
                try:
                    await probe.connect()
                    break
                except TransportError:
                    await asyncio.sleep(0.05)
        deadline = t_up + report.budget_s + settle
        while loop.time() < deadline:
            if all(d.connects >= 2 for d in fleet.drivers):
                break
            await asyncio.sleep(0.02)
        report.recovery_s = loop.time() - t_up
        after = [t for t in connect_times if t >= t_up]
        report.max_reconnect_s = (max(after) - t_up) if after else -1.0
        # the Notify still awaiting its NotifyResp comes again, same msg_id (R-NOT.2, 5.3)
        try:
            again = await probe.wait_notification(
                lambda n: n.msg_id == first.msg_id and n.received_at > t_up, 10.0, include_past=True
            )
            report.notify_resent = again.endpoint_id == target
        except ProbeTimeoutError:
            report.errors.append("the pending Notify was not resent after the outage")
        report.notify_retries_seen = sum(1 for n in probe.notifications if n.msg_id == first.msg_id)
        probe.answer_notifies = True
        behaviour = fleet.drivers[0].agent.behaviour
        notifier = getattr(behaviour, "notifier", None)
        if notifier is not None:
            async with asyncio.timeout(5):
                while notifier.pending:
                    await asyncio.sleep(0.05)
            report.notify_pending_after = len(notifier.pending)
        # subscriptions (MQTT) and agent state intact: every agent answers; agent 0 kept its values
        eids = [d.endpoint_id for d in fleet.drivers]
        answers = await asyncio.gather(
            *(probe.request(e, Get(("Device.DeviceInfo.ProvisioningCode",))) for e in eids),
            return_exceptions=True,
        )
        report.gets_answered = sum(1 for a in answers if isinstance(a, Msg) and isinstance(a.body, GetResp))
        got = await probe.request(
            target, Get(("Device.DeviceInfo.ProvisioningCode", sub_path + "NotifRetry"))
        )
        values: dict[str, str] = {}
        for rp in got.body.req_path_results:
            for res in rp.resolved_path_results:
                values.update(res.result_params)
        report.state_intact = values.get("ProvisioningCode") == "before-outage" and values.get(
            "NotifRetry"
        ) in (
            "true",
            "1",
        )
        await asyncio.sleep(0.2)
        report.sockets_after = established_to(port)
        counts: dict[int, int] = {}
        for d in fleet.drivers:
            counts[d.connects] = counts.get(d.connects, 0) + 1
        report.connects_per_agent = counts
        report.failed = fleet.status().failed
        report.reconnects = int(fleet.metrics.stats.count("reconnect"))
        report.errors += [f"{eid}: {exc}" for eid, exc in fleet.errors[:5]]
        return report
    finally:
        await fleet.stop(timeout=5.0)
        await probe.close()


def write_scenario(
    path: Path,
    broker_url: str,
    prefix: str,
    count: int,
    *,
    broker_extra: str = "",
    spawn_rate: float = 2000.0,
    profile: str = "minimal",
) -> Path:
    """A scenario file for ``uspsim run`` in a subprocess (topics under ``prefix``)."""
    path.write_text(
        f"name: reliability\nspawn_rate: {spawn_rate}\n"
        f"broker:\n  url: {broker_url}\n{broker_extra}"
        "controller:\n  profile: generic\n  endpoint_id: proto::ctl-rel\n"
        f'  agent_topic: "{prefix}/agent/{{endpoint_id}}"\n  controller_topic: {prefix}/controller\n'
        "  boot_subscription: false\n"
        f"groups:\n  - name: rel\n    profile: {profile}\n    count: {count}\n"
        '    endpoint_id: "os::012345-REL{index:06d}"\n    mtp: mqtt\n    mqtt_version: 5\n'
    )
    return path


def uspsim(*args: str) -> list[str]:
    """The command line of ``uspsim`` in this interpreter."""
    import sys

    return [sys.executable, "-m", "simulator.integrations.cli", *args]


FLOODER = r"""
import socket, sys, time
sys.path.insert(0, {root!r})
from simulator.mqtt import MqttClient, MqttClientSettings
from simulator.usp.messages import Msg, encode_msg
from simulator.usp.records import encode_no_session_context
from simulator.usp.requests import Get
host, port, seconds = {host!r}, {port}, {seconds}
client = MqttClient(MqttClientSettings(client_id="flooder", protocol_version=5))
sock = socket.create_connection((host, port))
client.connect(0.0); sock.sendall(client.data_to_send()); client.receive_data(sock.recv(64), 0.0)
packets = []
for i, (eid, topic) in enumerate({targets!r}):
    msg = Msg.of(f"flood-{{i}}", Get(("Device.DeviceInfo.",)))
    rec = encode_no_session_context("1.3", eid, {controller!r}, encode_msg(msg))
    client.publish(topic, rec, 0, 0.0, response_topic={reply!r})
    packets.append(client.data_to_send())
burst = b"".join(packets) * 20
sent = 0
end = time.monotonic() + seconds
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    sock.settimeout(left)
    try:
        sock.sendall(burst)
    except OSError:
        break
    sent += 20 * len(packets)
print(sent, flush=True)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
sock.close()
"""


def flooder_command(
    host: str, port: int, targets: list[tuple[str, str]], controller: str, reply: str, seconds: float
) -> list[str]:
    """A subprocess that publishes Gets to ``targets`` (eid, topic) as fast as the broker takes them."""
    import sys

    root = str(Path(__file__).resolve().parents[2])
    code = FLOODER.format(
        root=root, host=host, port=port, seconds=seconds, targets=targets, controller=controller, reply=reply
    )
    return [sys.executable, "-c", code]
