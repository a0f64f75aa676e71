"""The diary's data model: people, tracked body sites, photos, their analyses and treatments."""

from .analyses import Analysis
from .patients import BodySite, Patient, TreatmentEntry
from .photos import Photo
from .users import User

__all__ = ["Analysis", "BodySite", "Patient", "Photo", "TreatmentEntry", "User"]
