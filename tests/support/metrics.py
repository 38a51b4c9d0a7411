"""Reading a Prometheus endpoint in tests: one sample's value, and what changed between two reads."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """The samples of one read of a `/metrics` endpoint."""

    def __init__(self, url: str) -> None:
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        self.text = response.text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (0 if absent, as a counter not yet incremented)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str) -> bool:
        return any(sample_name == name for sample_name, _ in self.samples)

    def since(self, earlier: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - earlier.value(name, **labels)
