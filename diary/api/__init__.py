"""The REST API for the mobile app, under ``/api/v1/``."""
