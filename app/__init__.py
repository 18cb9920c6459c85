# Written by notebooks/01_config.ipynb: edit there, or edit here and run `workshop sync`
"""FastAPI Notebook Kit: the application the lessons build, one layer at a time."""
