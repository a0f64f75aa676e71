"""Progression of a patient's vitiligo: trends, charts and exports of the severity series.

See docs/progression.md for the measures, the trend rules and the minimal detectable change.
"""
