"""One module per rail; each returns findings and leaves decisions to the policy."""
