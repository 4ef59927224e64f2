"""Webhook endpoints and the shared delivery engine (also used by incident notification channels)."""
