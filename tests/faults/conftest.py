"""The campaign's summary table goes to the terminal summary, whether or not pytest captures output."""

from __future__ import annotations

import pytest

SUMMARIES = pytest.StashKey[list[str]]()


@pytest.fixture
def campaign_summaries(request: pytest.FixtureRequest) -> list[str]:
    return request.config.stash.setdefault(SUMMARIES, [])


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    for table in config.stash.get(SUMMARIES, []):
        terminalreporter.write_sep("=", "fault campaign")
        terminalreporter.write_line(table)
