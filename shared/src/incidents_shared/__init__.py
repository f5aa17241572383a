"""Shared code of the incident platform: the pure domain, settings, logging and log/database plumbing."""
