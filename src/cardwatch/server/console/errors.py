"""What a console request can fail with; ``app`` turns each into a page or a redirect."""

from __future__ import annotations

__all__ = ["ActionRefused", "CsrfRefused", "Forbidden", "LoginRequired", "PageNotFound"]


class LoginRequired(Exception):
    """No valid session: send the browser to the log-in page."""


class Forbidden(Exception):
    """Logged in, but the role is not enough (PCI DSS 7.2)."""

    def __init__(self, needed: str) -> None:
        self.needed = needed
        super().__init__(f"this needs the {needed} role")


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""


class PageNotFound(Exception):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} not found")


class ActionRefused(Exception):
    """A well-formed request the rules of the console do not allow (say, approving one's own
    bulk action); shown to the user as a message, not a crash."""
