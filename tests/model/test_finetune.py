"""Fine-tuning on a project's accepted annotations: a new checkpoint, its parent's metrics beside its own."""

import numpy as np
import pytest

from model.checkpoint import ModelCard, read_card, save_checkpoint
from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.training.finetune import FineTuneResult, FineTuneSettings, finetune, split_holdout


def _square_image(seed: int, n: int = 3):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (96, 128, 3), dtype=np.uint8)
    instances = []
    for i in range(n):
        x, y = 8 + 38 * i, 10 + 20 * (i % 2)
        image[y : y + 24, x : x + 24] = (230, 200, 40)
        instances.append(
            InstanceAnnotation(category_id=0, category="tile", box=np.array([x, y, x + 24, y + 24], np.float32),
                               polygons=(np.array([[x, y], [x + 24, y], [x + 24, y + 24], [x, y + 24]], np.float32),))
        )
    return AnnotatedImage(image_id=str(seed), source=lambda: image, height=96, width=128, instances=tuple(instances))


def _dataset(count: int) -> Dataset:
    return Dataset(("tile",), tuple(_square_image(s) for s in range(count)), "synthetic")


def test_split_holdout_rules():
    train, holdout = split_holdout(_dataset(5), 0.2, seed=0)
    assert len(train.images) == 4 and len(holdout.images) == 1
    assert not {i.image_id for i in train.images} & {i.image_id for i in holdout.images}
    train, holdout = split_holdout(_dataset(1), 0.2, seed=0)
    assert len(train.images) == 1 and len(holdout.images) == 0
    train, holdout = split_holdout(_dataset(2), 0.9, seed=0)
    assert len(train.images) == 1 and len(holdout.images) == 1


def test_not_worse_than_parent():
    def result(new, parent):
        return FineTuneResult(None, None, 1, 1.0, 1, 1, {"new": new, "parent": parent})

    assert result({"box_ap50": {"mean": 0.5}}, {"box_ap50": {"mean": 0.4}}).not_worse_than_parent()
    assert not result({"box_ap50": {"mean": 0.3}}, {"box_ap50": {"mean": 0.4}}).not_worse_than_parent()
    assert result({"box_ap50": {"mean": 0.35}}, {"box_ap50": {"mean": 0.4}}).not_worse_than_parent(tolerance=0.1)
    assert result(None, None).not_worse_than_parent()


@pytest.mark.slow
def test_finetune_writes_a_child_version_with_both_metrics(tiny_model, tmp_path):
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    progress = []
    result = finetune(
        parent, _dataset(4), tmp_path / "child.weights.h5", "tiny-v2",
        FineTuneSettings(max_steps=6, time_budget_s=120, eval_runs=1, holdout_fraction=0.25), on_progress=progress.append,
    )
    assert result.steps == 6 and [p.step for p in progress] == [5, 6]
    assert result.train_images == 3 and result.holdout_images == 1
    card = read_card(result.weights_path)
    assert card.version == "tiny-v2" and card.parent == "tiny-v1" and card.training["kind"] == "fine-tune"
    for side in ("new", "parent"):
        assert 0.0 <= card.metrics["holdout"][side]["box_ap50"]["mean"] <= 1.0
        assert card.metrics["holdout"][side]["queries"] == 1
    assert read_card(parent).version == "tiny-v1"  # the parent is untouched


def test_finetune_without_annotations_is_refused(tiny_model, tmp_path):
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    empty = Dataset(("tile",), (AnnotatedImage("0", lambda: np.zeros((8, 8, 3), np.uint8), 8, 8, ()),))
    with pytest.raises(ValueError, match="nothing to fine-tune"):
        finetune(parent, empty, tmp_path / "child.weights.h5", "tiny-v2")
