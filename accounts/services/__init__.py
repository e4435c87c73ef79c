"""Account writes, one module per use-case family (sessions, signup, email codes, ...)."""
