"""Session 13: v7's heads on the EfficientNet-Lite1 backbone. Every layer of v7 outside the backbone whose name and
weight shapes match is copied; the rest (the FPN's lateral convs, which see other channel counts) start fresh.
    PYTHONPATH=. .venv/bin/python runs/s13/transplant.py OUT.weights.h5
"""
import sys

from bench.learning_curve import SHIPPED_CHECKPOINT
from model.builder import build_model
from model.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from model.presets import get_preset

v7, card = load_checkpoint(SHIPPED_CHECKPOINT)
config = v7.config.replace(name="lite1", backbone="efficientnet_lite1", backbone_alpha=1.0,
                           backbone_weights="imagenet")
assert get_preset("lite1").replace(**{k: getattr(config, k) for k in ("detection_min_confidence",)}) is not None
lite = build_model(config)
source = {layer.name: layer for layer in v7._flatten_layers() if layer.weights}
backbone = {layer.name for layer in lite.backbone._flatten_layers()} if hasattr(lite, "backbone") else set()
copied, fresh = [], []
for layer in lite._flatten_layers():
    if not layer.weights or layer.name in backbone or layer is lite:
        continue
    twin = source.get(layer.name)
    if twin is not None and [w.shape for w in twin.weights] == [w.shape for w in layer.weights]:
        layer.set_weights(twin.get_weights())
        copied.append(layer.name)
    else:
        fresh.append(layer.name)
print("copied", len(copied), "fresh", fresh)
out = ModelCard(version="lite1-v7heads", preset="lite1", config={}, parent=card.version,
                training={"kind": "transplant", "copied_layers": copied, "fresh_layers": fresh})
save_checkpoint(lite, sys.argv[1], out)
