"""The fraud team's console: server-rendered pages (Jinja2) for the alert queue and cases,
breaches, rules, the dashboard and the model, behind log-in, roles, CSRF protection and an
append-only audit trail.

``create_console(ws, store)`` gives the application the HTTP API mounts under ``/console``;
``create_console_app(ws, store)`` serves it alone.
"""

from __future__ import annotations

from cardwatch.server.console.app import create_console, create_console_app
from cardwatch.server.console.roles import ROLES, Role

__all__ = ["ROLES", "Role", "create_console", "create_console_app"]
