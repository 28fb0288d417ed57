"""Fixtures for the agent-layer tests: an AgentPair on the minimal profile."""

from __future__ import annotations

import pytest
from helpers import AgentPair


@pytest.fixture
def pair() -> AgentPair:
    """A fresh agent (minimal.yaml, strict mode: unexpected exceptions re-raise) and its controller."""
    return AgentPair()
