"""The HTTP API: authorisations, labels, cardholder controls and links, health and metrics."""

from cardwatch.server.http.app import Services, create_app

__all__ = ["Services", "create_app"]
