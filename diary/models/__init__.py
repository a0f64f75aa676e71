"""The diary's data model: people, tracked body sites, photos, their analyses and treatments."""

from .analyses import Analysis
from .audit import AuditEvent
from .consent import ResearchConsentChange
from .corrections import Correction, CorrectionScore
from .patients import BodySite, Patient, TreatmentEntry
from .photos import Photo
from .users import User

__all__ = [
    "Analysis",
    "AuditEvent",
    "BodySite",
    "Correction",
    "CorrectionScore",
    "Patient",
    "Photo",
    "ResearchConsentChange",
    "TreatmentEntry",
    "User",
]
