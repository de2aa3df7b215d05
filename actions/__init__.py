"""Application actions shared by the web and the CLI: the Temporal client and typed workflow helpers."""
