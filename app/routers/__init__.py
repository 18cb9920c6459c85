"""HTTP routes: validate input, call a service, shape the answer. No rules live here."""
