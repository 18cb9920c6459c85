# Written by notebooks/04_services.ipynb: edit there, or edit here and run `workshop sync`
"""Small helpers. security.py is the only one: hashing and tokens live there."""
