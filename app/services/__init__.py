"""Services: the application's rules. They raise domain errors, never HTTP ones."""
