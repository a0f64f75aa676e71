"""The admin for clinicians: each sees only their assigned patients; staff see everyone."""

from . import audit, people, photos  # noqa: F401  (registers the model admins)
