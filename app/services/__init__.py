# Written by notebooks/04_services.ipynb: edit there, or edit here and run `workshop sync`
"""Services: the application's rules. They raise domain errors, never HTTP ones."""
