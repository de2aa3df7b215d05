"""Pure domain tests: scoring, deadlines, ids."""
