"""One module per incidentctl command."""
