"""Roles and the one permission layer every view and API endpoint uses.

Roles are ordered: viewer < editor < reviewer < admin; each may do what the
roles below it may. A user's role is their highest group (a superuser is an
admin). Views declare the role an action needs with ``@role_required``; API
views with ``required_roles`` (read/write), checked by ``RolePermission``.
"""

from enum import IntEnum
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission


class Role(IntEnum):
    VIEWER = 1
    EDITOR = 2
    REVIEWER = 3
    ADMIN = 4

    @property
    def label(self):
        return self.name.lower()

    @property
    def group(self):
        return self.label + "s"

    @classmethod
    def parse(cls, value):
        if isinstance(value, cls):
            return value
        return cls[str(value).upper()]


GROUP_NAMES = [role.group for role in Role]


def role_of(user):
    """The user's highest role, or None for anonymous users and users in no group."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_mlops_role", False)
    if cached is not False:
        return cached
    groups = set(user.groups.values_list("name", flat=True))
    roles = [role for role in Role if role.group in groups]
    user._mlops_role = max(roles) if roles else None
    return user._mlops_role


def has_role(user, role):
    current = role_of(user)
    return current is not None and current >= Role.parse(role)


def denied_message(user, role):
    current = role_of(user)
    have = f"you are {current.label}" if current else "your account has no role yet; ask an admin"
    return f"This needs the {Role.parse(role).label} role; {have}."


def role_required(role):
    """View decorator: anonymous users go to the login page; too low a role gets 403 with the reason."""
    needed = Role.parse(role)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, needed):
                raise PermissionDenied(denied_message(request.user, needed))
            return view(request, *args, **kwargs)

        wrapper.required_role = needed
        return wrapper

    return decorator


class RolePermission(BasePermission):
    """DRF permission: ``view.required_roles`` maps "read"/"write" (or an action name) to a role.

    Defaults: reading needs viewer, writing needs editor. Predict-only
    tokens reach nothing here: they are for the serving endpoints alone.
    """

    default_roles = {"read": Role.VIEWER, "write": Role.EDITOR}

    def needed_role(self, request, view):
        roles = {**self.default_roles, **getattr(view, "required_roles", {})}
        action = getattr(view, "action", None)
        if action and action in roles:
            return Role.parse(roles[action])
        return Role.parse(roles["read" if request.method in SAFE_METHODS else "write"])

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(request.auth, "predict_only", False):
            self.message = "This token may only be used for predictions."
            return False
        needed = self.needed_role(request, view)
        if not has_role(request.user, needed):
            self.message = denied_message(request.user, needed)
            return False
        return True
