"""Incidents: creation with inline triage, lifecycle, notification channels and triage rules (issue 6)."""
