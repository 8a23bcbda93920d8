"""Subcommands of the ``nacresistance`` command line (one module each; see ``cli.COMMANDS``)."""
