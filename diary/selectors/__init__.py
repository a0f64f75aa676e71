"""Reads. Each selector starts from ``visible_to(user)`` so nothing leaks across patients."""
