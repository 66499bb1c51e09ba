"""The HTTP service Label Studio talks to: Flask under gunicorn. It never imports TensorFlow.

Entry point for gunicorn: `backend.wsgi:create_app_from_env()`; for tests: `backend.app.create_app(settings)`.
"""

__all__ = ["app", "auth", "label_config", "predict", "webhook"]
