"""The projector: the incident log folded into PostgreSQL read models."""
