"""Adapters that implement the core's ports with Django, PostgreSQL and Redis."""
