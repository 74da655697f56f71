"""Deterministic orchestration of the four processes; every side effect is an activity."""
