"""Command-line jobs built on the `forecast` library."""
