"""The ISO code tables the ISO 8583 edge needs: currencies (4217) and countries (3166-1).

Networks send numeric codes (DE 49 currency, DE 19 country) while the contract speaks alpha
codes, and an amount in minor units means nothing without the currency's exponent (JPY has none,
KWD has three). Only the currencies listed here are accepted: converting an amount with a guessed
exponent would silently multiply or divide it by ten, which is worse than refusing the message.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "COUNTRY_ALPHA2",
    "COUNTRY_NUMERIC",
    "CURRENCIES",
    "CURRENCY_NUMERIC",
    "Currency",
    "country_alpha2",
    "currency_by_alpha",
    "currency_by_numeric",
]


class Currency(NamedTuple):
    """One ISO 4217 currency: the code networks send, the code people read, its minor units."""

    numeric: str
    alpha: str
    exponent: int


_CURRENCY_ROWS = """
784 AED 2 | 032 ARS 2 | 036 AUD 2 | 975 BGN 2 | 048 BHD 3 | 986 BRL 2 | 124 CAD 2 | 756 CHF 2
152 CLP 0 | 156 CNY 2 | 170 COP 2 | 203 CZK 2 | 208 DKK 2 | 818 EGP 2 | 978 EUR 2 | 826 GBP 2
344 HKD 2 | 348 HUF 2 | 360 IDR 2 | 376 ILS 2 | 356 INR 2 | 368 IQD 3 | 352 ISK 0 | 400 JOD 3
392 JPY 0 | 404 KES 2 | 410 KRW 0 | 414 KWD 3 | 434 LYD 3 | 504 MAD 2 | 484 MXN 2 | 458 MYR 2
566 NGN 2 | 578 NOK 2 | 554 NZD 2 | 512 OMR 3 | 604 PEN 2 | 608 PHP 2 | 586 PKR 2 | 985 PLN 2
634 QAR 2 | 946 RON 2 | 941 RSD 2 | 643 RUB 2 | 682 SAR 2 | 752 SEK 2 | 702 SGD 2 | 764 THB 2
788 TND 3 | 949 TRY 2 | 901 TWD 2 | 980 UAH 2 | 840 USD 2 | 858 UYU 2 | 704 VND 0 | 950 XAF 0
952 XOF 0 | 710 ZAR 2
"""

_COUNTRY_ROWS = """
020 AD | 784 AE | 032 AR | 040 AT | 036 AU | 056 BE | 100 BG | 076 BR | 124 CA | 756 CH | 152 CL
156 CN | 170 CO | 196 CY | 203 CZ | 276 DE | 208 DK | 233 EE | 818 EG | 724 ES | 246 FI | 250 FR
826 GB | 300 GR | 344 HK | 191 HR | 348 HU | 360 ID | 372 IE | 376 IL | 356 IN | 352 IS | 380 IT
392 JP | 404 KE | 410 KR | 440 LT | 442 LU | 428 LV | 504 MA | 470 MT | 484 MX | 458 MY | 566 NG
528 NL | 578 NO | 554 NZ | 604 PE | 608 PH | 586 PK | 616 PL | 620 PT | 634 QA | 642 RO | 688 RS
643 RU | 682 SA | 752 SE | 702 SG | 705 SI | 703 SK | 764 TH | 792 TR | 158 TW | 804 UA | 840 US
704 VN | 710 ZA
"""


def _rows(text: str) -> list[list[str]]:
    return [cell.split() for line in text.strip().splitlines() for cell in line.split("|")]


#: Numeric ISO 4217 code → currency.
CURRENCY_NUMERIC: dict[str, Currency] = {
    num: Currency(num, alpha, int(exp)) for num, alpha, exp in _rows(_CURRENCY_ROWS)
}
#: Alpha ISO 4217 code → currency.
CURRENCIES: dict[str, Currency] = {c.alpha: c for c in CURRENCY_NUMERIC.values()}
#: Numeric ISO 3166-1 code → alpha-2.
COUNTRY_NUMERIC: dict[str, str] = {num: alpha for num, alpha in _rows(_COUNTRY_ROWS)}
#: Alpha-2 → numeric ISO 3166-1 code.
COUNTRY_ALPHA2: dict[str, str] = {alpha: num for num, alpha in COUNTRY_NUMERIC.items()}


def currency_by_numeric(code: str) -> Currency | None:
    """The currency for a DE 49 value, or ``None`` when it is not one cardwatch knows.

    >>> currency_by_numeric("392")
    Currency(numeric='392', alpha='JPY', exponent=0)
    >>> currency_by_numeric("999") is None
    True
    """
    return CURRENCY_NUMERIC.get(code)


def currency_by_alpha(code: str) -> Currency | None:
    """The currency for an alpha code such as ``EUR`` (case-insensitive).

    >>> currency_by_alpha("kwd").exponent
    3
    """
    return CURRENCIES.get(code.upper())


def country_alpha2(numeric: str) -> str | None:
    """The alpha-2 code for a numeric ISO 3166-1 code (DE 19), or ``None``.

    >>> country_alpha2("250"), country_alpha2("000")
    ('FR', None)
    """
    return COUNTRY_NUMERIC.get(numeric)
