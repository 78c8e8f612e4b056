"""Notebook integration: the magics, what a tracked cell captures, and the live run card."""
