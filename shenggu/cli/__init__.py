"""The ``shenggu`` command-line interface."""
