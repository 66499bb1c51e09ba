import numpy as np
import tensorflow as tf

from model.layers.roi_align import pyramid_roi_align, roi_levels


def test_levels_follow_the_fpn_rule():
    size = 1024
    boxes = tf.constant([[0, 0, 224 / size, 224 / size], [0, 0, 112 / size, 112 / size],
                         [0, 0, 448 / size, 448 / size], [0, 0, 4 / size, 4 / size], [0, 0, 1.0, 1.0]])
    np.testing.assert_array_equal(roi_levels(boxes, size).numpy(), [4, 3, 5, 2, 5])


def test_crop_matches_hand_computed_bilinear_samples():
    # A ramp feature map: value = 10 * y + x. Bilinear samples of a ramp are exact.
    h = w = 8
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    fmap = (10.0 * ys + xs).astype(np.float32)[None, :, :, None]
    maps = [tf.constant(fmap)] * 4  # every level the same: the level choice does not matter here
    # Normalised box (H - 1 convention): rows 1..5, cols 2..6.
    box = np.array([[[1 / 7, 2 / 7, 5 / 7, 6 / 7]]], np.float32)
    pooled = pyramid_roi_align(maps, tf.constant(box), pool_size=3, image_size=128).numpy()[0, 0, :, :, 0]
    # crop_and_resize samples rows 1, 3, 5 and cols 2, 4, 6.
    expected = 10.0 * np.array([1, 3, 5])[:, None] + np.array([2, 4, 6])[None, :]
    np.testing.assert_allclose(pooled, expected, atol=1e-4)


def test_boxes_keep_their_batch_and_order():
    maps = []
    for level in range(4):
        fm = np.zeros((2, 16, 16, 1), np.float32)
        fm[1] = 1.0 + level  # image 1 is bright, and each level has its own value
        maps.append(tf.constant(fm))
    boxes = tf.constant([[[0, 0, 0.1, 0.1], [0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 0.01, 0.01]]], tf.float32)
    pooled = pyramid_roi_align(maps, boxes, pool_size=2, image_size=256).numpy()
    assert pooled.shape == (2, 2, 2, 2, 1)
    assert np.all(pooled[0] == 0)
    # Image 1 (256 px input): the whole-image box reads level 4 (value 3), the tiny one level 2 (value 1).
    assert np.allclose(pooled[1, 0], 3.0) and np.allclose(pooled[1, 1], 1.0)


def test_random_boxes_on_every_level_equal_one_crop_per_box_with_gradients():
    # The level-by-level crops are put back in box order by a permutation: compare with cropping each box alone.
    rng = np.random.default_rng(3)
    maps = [tf.constant(rng.normal(size=(2, side, side, 3)).astype(np.float32)) for side in (32, 16, 8, 4)]
    corner = rng.uniform(0.0, 0.6, size=(2, 40, 2))
    size = np.exp(rng.uniform(np.log(0.02), np.log(0.9), size=(2, 40, 1)))
    boxes = tf.constant(np.concatenate([corner, np.minimum(corner + size, 1.0)], axis=-1).astype(np.float32))
    levels = roi_levels(boxes, 512).numpy()
    assert set(np.unique(levels)) == {2, 3, 4, 5}  # the test covers every level
    with tf.GradientTape() as tape:
        tape.watch(maps)
        pooled = pyramid_roi_align(maps, boxes, pool_size=5, image_size=512)
        loss = tf.reduce_sum(pooled * pooled)
    for image in range(2):
        for index in range(40):
            level = int(levels[image, index])
            alone = tf.image.crop_and_resize(maps[level - 2], boxes[image, index][None], [image], (5, 5))
            np.testing.assert_array_equal(pooled[image, index].numpy(), alone[0].numpy())
    gradients = tape.gradient(loss, maps)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in gradients)
