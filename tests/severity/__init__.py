"""Tests of segmentation.severity (no Django, no torch needed by the code under test)."""
