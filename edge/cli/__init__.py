"""The ``frugal`` command line."""
