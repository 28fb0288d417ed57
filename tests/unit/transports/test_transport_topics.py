"""Topic filter validation and matching (MQTT 5.0 section 4.7), and the broker's subscription index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.transports.topics import SubscriptionIndex, is_valid_filter, is_valid_topic, topic_matches


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("sport/tennis/player1/#", "sport/tennis/player1", True),  # "#" includes the parent level
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        ("#", "anything/at/all", True),
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),  # empty level matched by "+"
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        ("#", "$SYS/broker", False),  # [MQTT-4.7.2-1]
        ("+/monitor/Clients", "$SYS/monitor/Clients", False),
        ("$SYS/#", "$SYS/monitor/Clients", True),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
        ("usp/agent/os::1", "usp/agent/os::1", True),
        ("usp/agent/os::1", "usp/agent/os::12", False),
        ("usp/agent/+/reply", "usp/agent/x/reply", True),
    ],
)
def test_topic_matches_spec_examples(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected
    index: SubscriptionIndex[str, int] = SubscriptionIndex()
    index.add(topic_filter, "s", 0)
    assert (index.match(topic) == [("s", 0)]) is expected


@pytest.mark.parametrize(
    ("topic_filter", "valid"),
    [
        ("a/b", True),
        ("#", True),
        ("a/#", True),
        ("+", True),
        ("+/b/+", True),
        ("/", True),
        ("", False),
        ("a#", False),
        ("a/#/b", False),
        ("a/b#", False),
        ("a+", False),
        ("a/+b", False),
        ("a\x00", False),
    ],
)
def test_is_valid_filter(topic_filter: str, valid: bool) -> None:
    assert is_valid_filter(topic_filter) is valid


def test_is_valid_topic() -> None:
    assert is_valid_topic("a/b")
    assert not is_valid_topic("")
    assert not is_valid_topic("a/+")
    assert not is_valid_topic("a/#")


def test_index_add_replace_remove_and_prune() -> None:
    index: SubscriptionIndex[str, int] = SubscriptionIndex()
    assert index.add("a/+/c", "s1", 0)
    assert not index.add("a/+/c", "s1", 1)  # replaces [MQTT-3.8.4-3]
    assert index.add("a/b/c", "s2", 0)
    assert index.add("a/#", "s2", 1)
    assert len(index) == 3
    assert sorted(index.match("a/b/c")) == [("s1", 1), ("s2", 0), ("s2", 1)]
    assert index.remove("a/+/c", "s1")
    assert not index.remove("a/+/c", "s1")
    assert not index.remove("x/#", "s1")
    assert index.remove("a/b/c", "s2")
    assert index.remove("a/#", "s2")
    assert len(index) == 0
    assert index.match("a/b/c") == []
    assert index._root.children == {}  # branches pruned


LEVEL = st.sampled_from(["a", "b", "", "$x"])
TOPICS = st.lists(LEVEL, min_size=1, max_size=4).map("/".join).filter(bool)
FILTERS = st.builds(
    lambda levels, tail: "/".join(levels + ([tail] if tail else [])),
    st.lists(st.sampled_from(["a", "b", "", "+", "$x"]), min_size=0, max_size=3),
    st.sampled_from([None, "#"]),
).filter(bool)


@given(filters=st.lists(FILTERS, max_size=8), topic=TOPICS)
def test_index_agrees_with_topic_matches(filters: list[str], topic: str) -> None:
    index: SubscriptionIndex[int, str] = SubscriptionIndex()
    for i, f in enumerate(filters):
        index.add(f, i, f)
    expected = sorted((i, f) for i, f in enumerate(filters) if topic_matches(f, topic))
    assert sorted(index.match(topic)) == expected


@given(topic_filter=FILTERS, topic=TOPICS)
def test_topic_matches_reference_semantics(topic_filter: str, topic: str) -> None:
    """A regex oracle: "+" = one level, trailing "/#" = optional more levels, "$" protected."""
    import re

    pattern = ""
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if level == "#":
            pattern = pattern[:-1] + "(/.*)?" if i else ".*"
            break
        pattern += ("[^/]*" if level == "+" else re.escape(level)) + ("/" if i < len(levels) - 1 else "")
    expected = re.fullmatch(pattern, topic) is not None
    if topic.startswith("$") and topic_filter[0] in "+#":
        expected = False
    assert topic_matches(topic_filter, topic) is expected
