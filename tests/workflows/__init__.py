"""Workflow tests on real Temporal servers, a real worker and a fresh database."""
