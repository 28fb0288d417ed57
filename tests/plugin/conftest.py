"""Plugin tests: run small test suites with ``pytester`` (enabled in tests/conftest.py) against the plugin."""

from __future__ import annotations

import pytest

# Import the runtime once in the outer process: pytester's in-process runs restore ``sys.modules``
# afterwards, and re-importing generated protobuf modules into the same descriptor pool would fail.
import simulator.integrations.sandbox  # noqa: F401

INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = -p no:cacheprovider
"""


@pytest.fixture
def plugin_tester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester with the project's strict settings (warnings are errors)."""
    pytester.makeini(INI)
    return pytester
