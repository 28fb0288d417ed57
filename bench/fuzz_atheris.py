"""Coverage-guided fuzzing of the receive path with atheris (libFuzzer): MQTT bytes -> Record -> Msg -> paths.

Run: ``.venv/bin/pip install atheris`` (not a project dependency), then
``.venv/bin/python bench/fuzz_atheris.py [-runs=200000] [-max_total_time=120] [corpus_dir]``.

One input drives four targets, picked by its first byte: raw MQTT bytes into a connected sans-I/O
``MqttClient`` (PUBLISH payloads continue into the agent), raw Record bytes into ``Agent.receive``,
a Msg payload wrapped in a valid Record, and path strings for Get / GetInstances / GetSupportedDM.
A finding is any exception escaping the MQTT client or the agent (strict mode), or an answer to a
Record the agent must drop (usp-protocol.md 1.4); it is saved under bench/fuzz-findings/ and counted.
A JSON line with executions and findings is printed every 20,000 executions and at exit.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "unit"))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["simulator"]):
    from helpers import AGENT_ID, CONTROLLER_ID, AgentPair
    from test_fuzz_receive import must_drop

    from simulator.agent.actions import Send
    from simulator.mqtt import MessageReceived, MqttClient, MqttClientSettings
    from simulator.mqtt.packets import ConnAck
    from simulator.mqtt.wire import encode_packet
    from simulator.usp.messages import Msg, encode_msg
    from simulator.usp.records import encode_no_session_context
    from simulator.usp.requests import Get, GetInstances, GetSupportedDM

PAIR = AgentPair()
STATS = {"executions": 0, "findings": 0, "answered_drops": 0, "started": time.monotonic()}


class AnsweredDropError(AssertionError):
    """The agent answered a Record it must drop."""


def agent(data: bytes) -> None:
    sends = [a for a in PAIR.agent.receive(data, PAIR.now, "usp/controller/reply") if isinstance(a, Send)]
    if sends and must_drop(data):
        STATS["answered_drops"] += 1
        raise AnsweredDropError(data[:100])


def mqtt(version: int, data: bytes) -> None:
    client = MqttClient(MqttClientSettings(client_id="fuzz", protocol_version=version))
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(encode_packet(ConnAck(), version), 0.0)
    for event in client.receive_data(data, 1.0):
        if isinstance(event, MessageReceived):
            agent(event.publish.payload)
    client.data_to_send()


FINDINGS = ROOT / "bench" / "fuzz-findings"


def one_input(data: bytes) -> None:
    """Run one input; an exception is a finding: counted, saved in bench/fuzz-findings/, fuzzing goes on."""
    STATS["executions"] += 1
    if STATS["executions"] % 20_000 == 0:
        report()
    try:
        _one_input(data)
    except Exception as exc:
        STATS["findings"] += 1
        FINDINGS.mkdir(exist_ok=True)
        name = f"finding-{STATS['findings']:04d}-{type(exc).__name__}"
        (FINDINGS / name).write_bytes(data)
        print(f"FINDING {name}: {exc!r}", file=sys.stderr, flush=True)


def _one_input(data: bytes) -> None:
    if not data:
        return
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 4)
    if mode == 0:
        mqtt(5 if fdp.ConsumeBool() else 4, fdp.ConsumeBytes(fdp.remaining_bytes()))
    elif mode == 1:
        agent(fdp.ConsumeBytes(fdp.remaining_bytes()))
    elif mode == 2:
        to_id = AGENT_ID if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(20)
        from_id = CONTROLLER_ID if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(20)
        agent(encode_no_session_context("1.3", to_id, from_id, fdp.ConsumeBytes(fdp.remaining_bytes())))
    else:
        paths = tuple(fdp.ConsumeUnicodeNoSurrogates(60) for _ in range(fdp.ConsumeIntInRange(1, 3)))
        body = (Get(paths), GetInstances(paths, fdp.ConsumeBool()), GetSupportedDM(paths))[mode - 2]
        record = encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, encode_msg(Msg.of("fz", body)))
        sends = [a for a in PAIR.agent.receive(record, PAIR.now, "r") if isinstance(a, Send)]
        assert len(sends) == 1, "a valid request must get exactly one answer"


def report() -> None:
    elapsed = time.monotonic() - float(STATS["started"])
    print(json.dumps({"executions": STATS["executions"], "findings": STATS["findings"],
                      "answered_drops": STATS["answered_drops"], "seconds": round(elapsed, 1),
                      "exec_per_s": round(STATS["executions"] / max(elapsed, 1e-9))}),
          flush=True)  # fmt: skip


def main() -> None:
    atexit.register(report)
    args = sys.argv
    if not any(a.startswith(("-runs=", "-max_total_time=")) for a in args[1:]):
        args = [*args, "-max_total_time=60"]
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
