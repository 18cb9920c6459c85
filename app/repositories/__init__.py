# Written by notebooks/04_services.ipynb: edit there, or edit here and run `workshop sync`
"""Repositories: the only layer that talks to the database."""
