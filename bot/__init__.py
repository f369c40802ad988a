"""Resident help bot of a territorial community."""
