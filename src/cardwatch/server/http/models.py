"""Request and answer bodies of the HTTP API (the contract's JSON transaction and decision)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cardwatch.pan import is_pan, pan_digits, safe_text

__all__ = [
    "AuthorizationRequest",
    "ControlBody",
    "DecisionAnswer",
    "LabelRequest",
    "ReasonBody",
]

Channel = Literal["card_present", "ecommerce", "moto", "atm"]
EntryMode = Literal[
    "chip", "contactless", "magstripe", "fallback", "manual", "ecommerce", "credential_on_file"
]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class AuthorizationRequest(BaseModel):
    """One authorisation: ``pan`` (tokenised at once, never stored) or an opaque ``card_id``."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    txn_id: str | None = Field(None, min_length=1, max_length=64)
    pan: str | None = Field(None, description="Card number; tokenised on arrival, never stored.")
    card_id: str | None = Field(None, min_length=1, max_length=64)
    amount: float = Field(gt=0, allow_inf_nan=False, description="Major units.")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    merchant_id: str = Field(min_length=1, max_length=64)
    timestamp: datetime | None = None
    customer_id: str | None = Field(None, max_length=64)
    mcc: str | None = Field(None, pattern=r"^\d{4}$")
    merchant_name: str | None = Field(None, max_length=100)
    merchant_country: Country | None = None
    merchant_lat: float | None = Field(None, ge=-90, le=90)
    merchant_lon: float | None = Field(None, ge=-180, le=180)
    terminal_id: str | None = Field(None, max_length=64)
    channel: Channel | None = None
    entry_mode: EntryMode | None = None

    @field_validator("pan")
    @classmethod
    def _pan_is_a_card_number(cls, v: str | None) -> str | None:
        if v is not None and not is_pan(v):
            raise ValueError(f"{safe_text(v)} is not a valid card number (12-19 digits, Luhn)")
        return v

    @field_validator("card_id")
    @classmethod
    def _card_id_is_not_a_pan(cls, v: str | None) -> str | None:
        if v is not None and pan_digits(v) is not None:  # grouped by spaces or dashes too
            raise ValueError("a card number goes in 'pan', where it is tokenised")
        return v

    @model_validator(mode="after")
    def _one_card(self) -> AuthorizationRequest:
        if (self.pan is None) == (self.card_id is None):
            # A model-level error has no field of its own: ``fields`` names the two for the
            # error answer (``app._problem``).
            raise PydanticCustomError(
                "one_card", "give exactly one of 'pan' or 'card_id'", {"fields": "pan, card_id"}
            )
        return self


class ReasonBody(BaseModel):
    code: str
    message: str


class DecisionAnswer(BaseModel):
    decision_id: str
    txn_id: str
    action: Literal["approve", "challenge", "decline", "review"]
    response_code: str
    score: float
    reasons: list[ReasonBody]


class LabelRequest(BaseModel):
    """A confirmed fraud (chargeback, cardholder report) or a confirmed genuine payment."""

    model_config = ConfigDict(extra="forbid")

    txn_id: str = Field(min_length=1, max_length=64)
    is_fraud: bool
    reported_at: datetime | None = None
    source: str = Field("api", max_length=32)


class ControlBody(BaseModel):
    """A cardholder's own setting: travel notice, trusted merchant, or blocks."""

    model_config = ConfigDict(extra="forbid")

    countries: list[Country] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    merchant_id: str | None = Field(None, max_length=64)
    merchant_name: str | None = Field(None, max_length=100)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
