"""Training: episodes -> network inputs (`batches.py`), the training loop (`trainer.py`)."""

__all__: list[str] = []
