"""MQTT topic filters: validation, matching (+, #, $-topics) and a subscription index for the broker.

# Strategy: USP fleets subscribe mostly to exact topics (one agent topic each), so the index keeps a
# dict from exact filter to subscribers (one lookup per PUBLISH) and a level tree only for filters
# with wildcards. Matching follows MQTT 5.0 section 4.7: "+" matches one whole level, "#" the
# parent level and every level below it, and neither matches a first level starting with "$".
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["SubscriptionIndex", "is_valid_filter", "is_valid_topic", "topic_matches"]

K = TypeVar("K")
V = TypeVar("V")


def is_valid_topic(topic: str) -> bool:
    """A Topic Name: non-empty, no wildcards, no U+0000 ([MQTT-4.7.3-1], [MQTT-3.3.2-2])."""
    return bool(topic) and "+" not in topic and "#" not in topic and "\x00" not in topic


def is_valid_filter(topic_filter: str) -> bool:
    """A Topic Filter: "#" only as the whole last level, "+" only as a whole level ([MQTT-4.7.1-*])."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != last):
            return False
        if "+" in level and level != "+":
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (MQTT 5.0 section 4.7; both assumed valid)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False  # [MQTT-4.7.2-1]
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels):
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


class _Node(Generic[K, V]):
    __slots__ = ("children", "subscribers")

    def __init__(self) -> None:
        self.children: dict[str, _Node[K, V]] = {}
        self.subscribers: dict[K, V] = {}


class SubscriptionIndex(Generic[K, V]):
    """Filters -> subscribers -> value (e.g. subscription options), matched against topic names."""

    __slots__ = ("_exact", "_root", "_wildcards")

    def __init__(self) -> None:
        """Create an empty index."""
        self._exact: dict[str, dict[K, V]] = {}
        self._root: _Node[K, V] = _Node()
        self._wildcards = 0

    def __len__(self) -> int:
        """Number of (filter, subscriber) pairs."""
        return sum(len(s) for s in self._exact.values()) + self._wildcards

    def add(self, topic_filter: str, subscriber: K, value: V) -> bool:
        """Add or replace a subscription; returns True if it is new ([MQTT-3.8.4-3] replaces)."""
        if "+" not in topic_filter and "#" not in topic_filter:
            subs = self._exact.setdefault(topic_filter, {})
        else:
            node = self._root
            for level in topic_filter.split("/"):
                child = node.children.get(level)
                if child is None:
                    child = node.children[level] = _Node()
                node = child
            subs = node.subscribers
            if subscriber not in subs:
                self._wildcards += 1
        new = subscriber not in subs
        subs[subscriber] = value
        return new

    def remove(self, topic_filter: str, subscriber: K) -> bool:
        """Remove a subscription; returns True if it existed."""
        if "+" not in topic_filter and "#" not in topic_filter:
            subs = self._exact.get(topic_filter)
            if subs is None or subscriber not in subs:
                return False
            del subs[subscriber]
            if not subs:
                del self._exact[topic_filter]
            return True
        path: list[tuple[_Node[K, V], str]] = []
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                return False
            path.append((node, level))
            node = child
        if subscriber not in node.subscribers:
            return False
        del node.subscribers[subscriber]
        self._wildcards -= 1
        for parent, level in reversed(path):  # prune empty branches
            child = parent.children[level]
            if child.subscribers or child.children:
                break
            del parent.children[level]
        return True

    def match(self, topic: str) -> list[tuple[K, V]]:
        """Every (subscriber, value) whose filter matches ``topic``; a subscriber may appear twice."""
        exact = self._exact.get(topic)
        found: list[tuple[K, V]] = list(exact.items()) if exact else []
        if self._wildcards:
            self._walk(self._root, topic.split("/"), 0, topic.startswith("$"), found)
        return found

    def _walk(
        self, node: _Node[K, V], levels: list[str], i: int, dollar: bool, found: list[tuple[K, V]]
    ) -> None:
        children = node.children
        protected = dollar and i == 0
        if not protected:
            hash_node = children.get("#")
            if hash_node is not None:
                found.extend(hash_node.subscribers.items())
        if i == len(levels):
            found.extend(node.subscribers.items())
            return
        child = children.get(levels[i])
        if child is not None:
            self._walk(child, levels, i + 1, dollar, found)
        if not protected:
            plus = children.get("+")
            if plus is not None:
                self._walk(plus, levels, i + 1, dollar, found)
