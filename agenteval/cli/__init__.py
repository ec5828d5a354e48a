"""The `agenteval` command line: one module per subcommand."""
