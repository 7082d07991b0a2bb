"""Readers and writers of structure and data files (units converted on load)."""
