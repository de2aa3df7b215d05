"""Fault tests: real processes killed and restarted."""
