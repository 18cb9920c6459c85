"""Repositories: the only layer that talks to the database."""
