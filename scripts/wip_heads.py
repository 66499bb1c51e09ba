"""Carry a frozen-backbone run from one session to the next within the repository's 25 MB per checkpoint.

A run that trains the heads on a frozen ImageNet backbone (`--layers heads`) only changes the layers after the
backbone; the backbone's weights are the pinned ImageNet file the preset fetches. So the work in progress is those
layers alone (for `lite1`: about 4.3 M parameters, 17 MB, against 34.5 MB for the whole network):

    python scripts/wip_heads.py save runs/lite/train/model.weights.h5 checkpoints/wip/lite1.heads.npz
    python scripts/wip_heads.py restore checkpoints/wip/lite1.heads.npz runs/lite/resume.weights.h5

`save` refuses a checkpoint whose backbone was trained, then writes every non-backbone layer's weights (float32,
`<layer>/<index>` keys) and the checkpoint's card beside them (`.card.json`, with the step count to `--resume`
from). `restore` rebuilds the network from that card with the
ImageNet backbone (fetched as the preset does), sets the saved layers, and writes an ordinary checkpoint for
`python -m model train --init ... --resume`. Both refuse a layer whose name or shapes do not match.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEY_SEPARATOR = "/"


def _head_layers(model) -> list:
    """The model's layers with weights that are not in its backbone (nested layers included, containers not)."""
    backbone = {id(layer) for layer in model.backbone._flatten_layers()}
    return [layer for layer in model._flatten_layers(include_self=False)
            if layer.weights and id(layer) not in backbone and not layer._layers]


def _backbone_is_imagenet(model) -> bool:
    """Whether the model's backbone holds exactly the ImageNet weights its preset starts from (a frozen run)."""
    import numpy as np

    from model.layers.backbones import build_backbone

    cfg = model.config
    fresh = build_backbone(cfg.backbone, alpha=cfg.backbone_alpha, weights="imagenet", mean_pixel=cfg.mean_pixel)
    ours, theirs = model.backbone.get_weights(), fresh.get_weights()
    return len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))


def save(checkpoint: Path, out: Path) -> None:
    import numpy as np

    from model.checkpoint import load_checkpoint

    model, card = load_checkpoint(checkpoint)
    if not _backbone_is_imagenet(model):
        raise SystemExit(f"{checkpoint}'s backbone is not the ImageNet one (trained with --layers all?): this format "
                         "leaves the backbone out and would lose it; commit the whole checkpoint instead")
    arrays = {f"{layer.name}{KEY_SEPARATOR}{i}": np.asarray(w, np.float32)
              for layer in _head_layers(model) for i, w in enumerate(layer.get_weights())}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    out.with_suffix(".card.json").write_text(card.to_json())
    size = out.stat().st_size / 1e6
    print(f"wrote {out} ({len(arrays)} arrays, {size:.1f} MB) and its card", file=sys.stderr)


def restore(heads: Path, out: Path) -> None:
    import numpy as np

    from model.builder import build_model
    from model.checkpoint import ModelCard, save_checkpoint
    from model.config import ModelConfig

    card = ModelCard.from_dict(json.loads(heads.with_suffix(".card.json").read_text()))
    config = ModelConfig.from_dict(card.config).replace(backbone_weights="imagenet")
    model = build_model(config)
    saved = np.load(heads)
    by_layer: dict[str, list] = {}
    for key in saved.files:
        name, index = key.rsplit(KEY_SEPARATOR, 1)
        by_layer.setdefault(name, []).append((int(index), saved[key]))
    layers = {layer.name: layer for layer in _head_layers(model)}
    if set(layers) != set(by_layer):
        raise SystemExit(f"{heads} does not fit a {config.name} network: missing {sorted(set(layers) - set(by_layer))},"
                         f" unknown {sorted(set(by_layer) - set(layers))}; restore it with the code that saved it")
    for name, layer in layers.items():
        arrays = [a for _, a in sorted(by_layer[name], key=lambda item: item[0])]
        if [tuple(a.shape) for a in arrays] != [tuple(w.shape) for w in layer.weights]:
            raise SystemExit(f"{heads}: the shapes of layer {name} do not match the network's")
        layer.set_weights(arrays)
    save_checkpoint(model, out, card)
    print(f"wrote {out}: resume with python -m model train --init {out} --resume ...", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("save", help="a checkpoint's non-backbone layers -> .npz + card")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("restore", help=".npz + card -> a full checkpoint with the ImageNet backbone")
    p.add_argument("heads", type=Path)
    p.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "save":
        save(args.checkpoint, args.out)
    else:
        restore(args.heads, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
