"""Country names for the messages cardholders read ("first use in the United States").

A small table of the countries most card traffic touches; an unknown code is shown as itself,
which is still understandable ("first use in MU").
"""

from __future__ import annotations

__all__ = ["COUNTRY_NAMES", "country_name"]

#: ISO 3166-1 alpha-2 code → name as it reads after "in" (with "the" where English wants it).
COUNTRY_NAMES: dict[str, str] = {
    "AE": "the United Arab Emirates",
    "AR": "Argentina",
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CN": "China",
    "CY": "Cyprus",
    "CZ": "the Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "EG": "Egypt",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "the United Kingdom",
    "GR": "Greece",
    "HK": "Hong Kong",
    "HR": "Croatia",
    "HU": "Hungary",
    "ID": "Indonesia",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IS": "Iceland",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MA": "Morocco",
    "MT": "Malta",
    "MX": "Mexico",
    "MY": "Malaysia",
    "NG": "Nigeria",
    "NL": "the Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PH": "the Philippines",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "RS": "Serbia",
    "RU": "Russia",
    "SA": "Saudi Arabia",
    "SE": "Sweden",
    "SG": "Singapore",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "TH": "Thailand",
    "TN": "Tunisia",
    "TR": "Turkey",
    "TW": "Taiwan",
    "UA": "Ukraine",
    "US": "the United States",
    "VN": "Vietnam",
    "ZA": "South Africa",
}


def country_name(code: str | None) -> str | None:
    """The name of an ISO 3166-1 alpha-2 country code, the code itself if unknown.

    >>> country_name("us"), country_name("FR"), country_name("MU"), country_name(None)
    ('the United States', 'France', 'MU', None)
    """
    if not code:
        return None
    return COUNTRY_NAMES.get(code.strip().upper(), code.strip().upper())
