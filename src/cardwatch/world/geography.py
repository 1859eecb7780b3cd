"""Where the synthetic world happens: real cities with their coordinates, time zones and roles.

A French issuer's cardholders live mostly in French cities (weighted by metropolitan population),
a few abroad; they travel to holiday and business destinations; stolen cards are cashed out in a
different set of places. Using real coordinates and time zones makes distance-from-home and
local-hour features behave as they would on an issuer's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["CITIES", "Cities", "utc_offsets"]

# name, country, lat, lon, time zone, home weight, travel weight, cash-out rank (-1: none)
_CITY_ROWS: tuple[tuple[str, str, float, float, str, float, float, int], ...] = (
    ("Paris", "FR", 48.857, 2.352, "Europe/Paris", 11.0, 0.0, -1),
    ("Lyon", "FR", 45.764, 4.836, "Europe/Paris", 2.3, 0.0, -1),
    ("Marseille", "FR", 43.297, 5.370, "Europe/Paris", 1.9, 0.0, -1),
    ("Toulouse", "FR", 43.605, 1.444, "Europe/Paris", 1.4, 0.0, -1),
    ("Lille", "FR", 50.629, 3.057, "Europe/Paris", 1.2, 0.0, -1),
    ("Bordeaux", "FR", 44.838, -0.579, "Europe/Paris", 1.0, 0.0, -1),
    ("Nice", "FR", 43.710, 7.262, "Europe/Paris", 1.0, 0.0, -1),
    ("Nantes", "FR", 47.218, -1.554, "Europe/Paris", 1.0, 0.0, -1),
    ("Strasbourg", "FR", 48.573, 7.752, "Europe/Paris", 0.8, 0.0, -1),
    ("Montpellier", "FR", 43.611, 3.877, "Europe/Paris", 0.8, 0.0, -1),
    ("Rennes", "FR", 48.117, -1.678, "Europe/Paris", 0.75, 0.0, -1),
    ("Grenoble", "FR", 45.188, 5.724, "Europe/Paris", 0.7, 0.0, -1),
    ("Rouen", "FR", 49.443, 1.099, "Europe/Paris", 0.65, 0.0, -1),
    ("Toulon", "FR", 43.124, 5.928, "Europe/Paris", 0.6, 0.0, -1),
    ("Tours", "FR", 47.394, 0.685, "Europe/Paris", 0.5, 0.0, -1),
    ("Clermont-Ferrand", "FR", 45.778, 3.087, "Europe/Paris", 0.5, 0.0, -1),
    ("Saint-Etienne", "FR", 45.440, 4.387, "Europe/Paris", 0.5, 0.0, -1),
    ("Dijon", "FR", 47.322, 5.041, "Europe/Paris", 0.4, 0.0, -1),
    ("Angers", "FR", 47.478, -0.563, "Europe/Paris", 0.4, 0.0, -1),
    ("Metz", "FR", 49.119, 6.176, "Europe/Paris", 0.4, 0.0, -1),
    ("Reims", "FR", 49.258, 4.032, "Europe/Paris", 0.35, 0.0, -1),
    ("Brest", "FR", 48.390, -4.486, "Europe/Paris", 0.3, 0.0, -1),
    ("Perpignan", "FR", 42.699, 2.895, "Europe/Paris", 0.3, 0.0, -1),
    ("Limoges", "FR", 45.834, 1.261, "Europe/Paris", 0.3, 0.0, -1),
    # Foreign cities: some cardholders live there; most are travel or cash-out destinations.
    ("Brussels", "BE", 50.850, 4.352, "Europe/Brussels", 0.35, 1.0, -1),
    ("Geneva", "CH", 46.204, 6.143, "Europe/Zurich", 0.3, 0.8, -1),
    ("Luxembourg", "LU", 49.612, 6.130, "Europe/Luxembourg", 0.2, 0.3, -1),
    ("London", "GB", 51.507, -0.128, "Europe/London", 0.3, 2.0, 4),
    ("Barcelona", "ES", 41.385, 2.173, "Europe/Madrid", 0.15, 2.0, -1),
    ("Madrid", "ES", 40.417, -3.704, "Europe/Madrid", 0.0, 1.0, -1),
    ("Lisbon", "PT", 38.722, -9.139, "Europe/Lisbon", 0.0, 1.2, -1),
    ("Rome", "IT", 41.903, 12.496, "Europe/Rome", 0.0, 1.5, -1),
    ("Berlin", "DE", 52.520, 13.405, "Europe/Berlin", 0.15, 1.0, -1),
    ("Amsterdam", "NL", 52.368, 4.904, "Europe/Amsterdam", 0.0, 1.0, -1),
    ("Marrakech", "MA", 31.629, -7.981, "Africa/Casablanca", 0.0, 1.0, -1),
    ("New York", "US", 40.713, -74.006, "America/New_York", 0.0, 1.0, 0),
    ("Montreal", "CA", 45.502, -73.567, "America/Toronto", 0.0, 0.6, -1),
    ("Bangkok", "TH", 13.756, 100.502, "Asia/Bangkok", 0.0, 0.5, 8),
    ("Tokyo", "JP", 35.676, 139.650, "Asia/Tokyo", 0.0, 0.4, -1),
    ("Miami", "US", 25.762, -80.192, "America/New_York", 0.0, 0.3, 1),
    ("Los Angeles", "US", 34.052, -118.244, "America/Los_Angeles", 0.0, 0.3, 2),
    ("Mexico City", "MX", 19.433, -99.133, "America/Mexico_City", 0.0, 0.2, 3),
    ("Sao Paulo", "BR", -23.551, -46.633, "America/Sao_Paulo", 0.0, 0.1, 5),
    ("Bucharest", "RO", 44.427, 26.103, "Europe/Bucharest", 0.0, 0.1, 6),
    ("Kuala Lumpur", "MY", 3.139, 101.687, "Asia/Kuala_Lumpur", 0.0, 0.05, 7),
    ("Jakarta", "ID", -6.209, 106.846, "Asia/Jakarta", 0.0, 0.05, 9),
    ("Manila", "PH", 14.600, 120.984, "Asia/Manila", 0.0, 0.0, 10),
    ("Lagos", "NG", 6.524, 3.379, "Africa/Lagos", 0.0, 0.0, 11),
)


@dataclass(frozen=True)
class Cities:
    """The city table as parallel arrays, so that rows can index it by city number."""

    name: tuple[str, ...]
    country: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    tz: tuple[str, ...]
    home_weight: np.ndarray
    travel_weight: np.ndarray
    cashout_rank: np.ndarray

    def __len__(self) -> int:
        return len(self.name)

    @property
    def cashout_order(self) -> np.ndarray:
        """City numbers of the cash-out places, in the order frauds spread to them."""
        ranked = np.flatnonzero(self.cashout_rank >= 0)
        return ranked[np.argsort(self.cashout_rank[ranked])]

    @property
    def tz_index(self) -> np.ndarray:
        """For each city, the number of its time zone in ``zones``."""
        lookup = {z: i for i, z in enumerate(self.zones)}
        return np.array([lookup[z] for z in self.tz], dtype=np.int16)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.tz))


def _build() -> Cities:
    cols = list(zip(*_CITY_ROWS, strict=True))
    return Cities(
        name=tuple(cols[0]),
        country=np.array(cols[1], dtype=object),
        lat=np.array(cols[2], dtype=np.float64),
        lon=np.array(cols[3], dtype=np.float64),
        tz=tuple(cols[4]),
        home_weight=np.array(cols[5], dtype=np.float64),
        travel_weight=np.array(cols[6], dtype=np.float64),
        cashout_rank=np.array(cols[7], dtype=np.int16),
    )


CITIES = _build()


def utc_offsets(zones: tuple[str, ...], start: date, days: int) -> np.ndarray:
    """Seconds to add to UTC to get local time, per zone and day (taken at local noon).

    Computed from the tz database, so daylight-saving changes fall on the right day; a pure
    function of its arguments (no clock is read).

    >>> int(utc_offsets(("Europe/Paris",), date(2025, 10, 25), 2)[0, 0])
    7200
    >>> int(utc_offsets(("Europe/Paris",), date(2025, 10, 25), 3)[0, 2])
    3600
    """
    out = np.zeros((len(zones), days), dtype=np.int64)
    base = datetime(start.year, start.month, start.day, 12, tzinfo=UTC)
    for i, zone in enumerate(zones):
        zi = ZoneInfo(zone)
        for d in range(days):
            offset = (base + timedelta(days=d)).astimezone(zi).utcoffset()
            out[i, d] = int(offset.total_seconds()) if offset is not None else 0
    return out
