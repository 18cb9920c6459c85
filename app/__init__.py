"""FastAPI Notebook Kit: the application the lessons build, one layer at a time."""
