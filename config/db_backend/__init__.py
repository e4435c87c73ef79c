"""Django's PostgreSQL backend, with one addition for the connection pool (base.py)."""
