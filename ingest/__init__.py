"""Ingestion of the tracker, billing and CRM exports into the warehouse's raw layer."""
