"""Replay of recorded workflow histories: a change that breaks running workflows fails here."""
