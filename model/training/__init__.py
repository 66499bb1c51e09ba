"""Training: episodes -> network inputs (`batches.py`), the training loop (`trainer.py`), early stopping on
validation classes (`early_stopping.py`)."""

__all__: list[str] = []
