"""Harness for the end-to-end tests: a real Label Studio, the plugin's stack, a REST client and test data.

Nothing here starts anything at import; the session fixtures in `tests/e2e/conftest.py` do.
"""
