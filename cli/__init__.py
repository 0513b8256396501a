"""The `ledgerbot` command line."""
