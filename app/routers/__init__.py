# Written by notebooks/05_routers.ipynb: edit there, or edit here and run `workshop sync`
"""HTTP routes: validate input, call a service, shape the answer. No rules live here."""
