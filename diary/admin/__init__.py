"""The admin for clinicians: each sees only their assigned patients; staff see everyone."""

from django.contrib import admin

from . import audit, people, photos  # noqa: F401  (registers the model admins)

# There is no public site: the admin's "View site" link would lead to a JSON 404.
admin.site.site_url = None
