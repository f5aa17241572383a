"""incidentctl: replay, rebuild and verify the incident log and its read models."""
