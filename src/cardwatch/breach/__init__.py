"""Breach response: find the common point of purchase, the cards it exposed, and who to help
first. The core is pure — it takes history (Arrow table, DuckDB relation or connection) and
returns plain data; the command line and the server call it."""

from __future__ import annotations

from cardwatch.breach.config import DetectConfig
from cardwatch.breach.detect import (
    Detection,
    detect,
    detect_daily,
    detect_with,
    survey,
    survey_daily,
    survey_with,
)
from cardwatch.breach.suspect import Held, Suspect

__all__ = [
    "DetectConfig",
    "Detection",
    "Held",
    "Suspect",
    "detect",
    "detect_daily",
    "detect_with",
    "survey",
    "survey_daily",
    "survey_with",
]
