"""The ``agent-auth`` command line: one module per command group, one application object."""
