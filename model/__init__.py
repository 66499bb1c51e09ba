"""Siamese Mask R-CNN (one-shot instance segmentation, arXiv 1811.11507) in Keras 3 on TensorFlow.

Importing this package does nothing heavy: TensorFlow is imported by the modules that need it. The public entry
points are:

- `model.presets.get_preset(name)` / `model.config.ModelConfig`: named configurations.
- `model.builder.build_model(config)`: the one place a configuration becomes a network.
- `model.predictor.Predictor`: numpy in, numpy out; what the worker uses.
- `model.checkpoint.save_checkpoint` / `load_checkpoint`: our `.weights.h5` + model card format.
- `python -m model ...`: the command line (`predict`, `inspect`, `train`, `evaluate`, `search`).
"""

__all__: list[str] = []
