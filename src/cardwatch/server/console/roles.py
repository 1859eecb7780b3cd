"""Console roles and what each may do (PCI DSS 7.2: least privilege).

Roles are ordered: a supervisor can do what an analyst does, an admin what a supervisor does.
Analysts work cases; supervisors also promote rules and confirm bulk actions; admins also manage
users. Keeping the order in one place means a route states the least role it needs, nothing more.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLES", "Role", "at_least"]


class Role(StrEnum):
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = (Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)


def at_least(role: str, needed: Role) -> bool:
    """True when ``role`` ranks at or above ``needed``; an unknown role ranks below all.

    >>> at_least("admin", Role.SUPERVISOR), at_least("analyst", Role.SUPERVISOR)
    (True, False)
    >>> at_least("intruder", Role.ANALYST)
    False
    """
    try:
        return ROLES.index(Role(role)) >= ROLES.index(needed)
    except ValueError:
        return False
