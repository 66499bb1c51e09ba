"""A short training smoke test: gradient steps on one synthetic episode lower the loss."""

from types import SimpleNamespace

import numpy as np

from model.training.batches import collate, episode_to_example, mini_masks
from model.training.trainer import Trainer, TrainSettings


def synthetic_episode(seed=0):
    """Three bright squares on a dark noisy background; the reference is one of them."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (120, 160, 3), dtype=np.uint8)
    boxes, masks = [], []
    for x, y in [(10, 10), (70, 50), (110, 20)]:
        image[y : y + 30, x : x + 30] = (230, 200, 40)
        m = np.zeros((120, 160), bool)
        m[y : y + 30, x : x + 30] = True
        boxes.append([x, y, x + 30, y + 30])
        masks.append(m)
    return SimpleNamespace(
        query_image=image, gt_boxes=np.array(boxes, np.float32), gt_masks=np.array(masks),
        reference_image=image, reference_box=np.array(boxes[0], np.float32),
    )


def test_example_has_the_network_keys_and_shapes(tiny_model):
    cfg = tiny_model.config
    example = episode_to_example(synthetic_episode(), cfg, tiny_model.anchors_np, np.random.default_rng(0))
    batch = collate([example, example])
    assert batch["image"].shape == (2, cfg.image_size, cfg.image_size, 3)
    assert batch["reference"].shape == (2, 1, cfg.reference_size, cfg.reference_size, 3)
    assert batch["rpn_match"].shape == (2, len(tiny_model.anchors_np))
    assert (batch["gt_boxes"][0].any(axis=1)).sum() == 3
    assert batch["gt_masks"].shape[2:] == (cfg.mini_mask_size, cfg.mini_mask_size)
    assert batch["gt_masks"][0, 0].mean() > 0.9  # a filled square fills its mini-mask


def test_mini_masks():
    mask = np.zeros((1, 20, 20), bool)
    mask[0, 5:15, 5:10] = True
    out = mini_masks(mask, np.array([[5, 5, 15, 15]], np.float32), 8)
    assert out.shape == (1, 8, 8) and out[0, :, :4].all() and not out[0, :, 4:].any()


def test_a_few_steps_lower_the_loss():
    import keras

    from model.builder import build_model
    from model.presets import get_preset

    keras.utils.set_random_seed(1)
    model = build_model(get_preset("tiny"))
    episodes = iter(lambda: synthetic_episode(), None)
    trainer = Trainer(model, episodes, TrainSettings(steps=1, batch_size=1, learning_rate=3e-3, seed=0))
    trainer._set_stage("all")
    batch = trainer._make_batch()  # the same batch every step: the loss must go down
    first = trainer.train_step(batch)[1]
    for _ in range(25):
        last = trainer.train_step(batch)[1]
    assert np.isfinite(last) and last < 0.6 * first, (first, last)


def test_run_writes_a_loadable_checkpoint(tmp_path):
    import keras

    from model.builder import build_model
    from model.checkpoint import ModelCard, read_card
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(2)
    model = build_model(get_preset("tiny"))
    logs = []
    trainer = Trainer(
        model, iter(lambda: synthetic_episode(), None),
        TrainSettings(steps=4, batch_size=2, layers="all", heads_steps=2, log_every=2), on_step=logs.append,
    )
    out = tmp_path / "run" / "model.weights.h5"
    trainer.run(out, ModelCard(version="tiny-run", preset="tiny", config={}))
    assert [log.step for log in logs] == [2, 4]
    card = read_card(out)
    assert card.training["steps"] == 4 and set(card.training["final_losses"]) == {
        "rpn_class", "rpn_bbox", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}
    assert Predictor.from_checkpoint(out).version == "tiny-run"


def test_a_run_the_time_budget_ends_between_reports_reports_its_last_step(tiny_model, tmp_path):
    from model.checkpoint import read_card

    logs = []
    trainer = Trainer(tiny_model, iter(lambda: synthetic_episode(), None),
                      TrainSettings(steps=10, layers="heads", log_every=5, time_budget_s=1e-9), on_step=logs.append)
    out = tmp_path / "model.weights.h5"
    trainer.run(out)
    assert [log.step for log in logs] == [1], "the budget is spent after step 1, before the first report at 5"
    assert read_card(out).training["steps"] == 1


def test_one_pixel_slivers_are_dropped_before_they_give_infinite_deltas(tiny_model):
    """A box one pixel high normalises to zero height ((px - 1) / (size - 1)); its RPN deltas would be log(0)."""
    cfg = tiny_model.config
    episode = synthetic_episode()
    scale = cfg.image_size / 160  # the query is resized by this much
    sliver = np.zeros((1, 120, 160), bool)
    sliver[0, 100, 40:80] = True
    episode.gt_boxes = np.concatenate([episode.gt_boxes, [[40, 100, 80, 100 + 1 / scale]]]).astype(np.float32)
    episode.gt_masks = np.concatenate([episode.gt_masks, sliver])
    example = episode_to_example(episode, cfg, tiny_model.anchors_np, np.random.default_rng(0))
    assert (example["gt_boxes"].any(axis=1)).sum() == 3
    assert np.all(np.isfinite(example["rpn_deltas"]))
