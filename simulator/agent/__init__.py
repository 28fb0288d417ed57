"""L2 USP agent behaviour (sans-I/O): the Agent core, its context, request handlers and access control."""

from __future__ import annotations

from simulator.agent.agent import Agent, Behaviour, BehaviourFactory
from simulator.agent.context import AgentConfig, AgentContext, ControllerRef

__all__ = ["Agent", "AgentConfig", "AgentContext", "Behaviour", "BehaviourFactory", "ControllerRef"]
