"""Taxi-trip event generator: deterministic NYC yellow-taxi trips to Kafka (contracts.md §1-2)."""

from .anomalies import AnomalyRates, EventCounts
from .manifest import Manifest
from .producer import GeneratorError, run_generator
from .stream import EventStream

__all__ = [
    "AnomalyRates",
    "EventCounts",
    "EventStream",
    "GeneratorError",
    "Manifest",
    "run_generator",
]
