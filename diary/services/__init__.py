"""Writes. Views and tasks call these; nothing else changes the diary's rows or files."""
