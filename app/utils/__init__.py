"""Small helpers. security.py is the only one: hashing and tokens live there."""
