"""cardwatch: fraud decisioning and breach response for card issuers."""

__version__ = "0.1.0"
