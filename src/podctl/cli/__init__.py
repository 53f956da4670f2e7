"""podctl's command line: kubectl's verbs and flags over a local Docker engine.

The click group is `podctl.cli.main`; this package imports nothing, so that a module of it
that needs no click (the terminal, `get`'s quick path) costs no click import.
"""
