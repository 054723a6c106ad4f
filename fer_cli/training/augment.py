"""Random changes to training batches, as stateless TensorFlow ops inside the tf.data pipeline.

Every random draw is a pure function of a per-batch seed, itself derived from
the run's seed, the epoch and the batch's step (see `batch_seed`). A resumed
run therefore augments epoch 7 exactly as an uninterrupted run does, whatever
happened before, and the pipeline may run its map calls in parallel without
changing a single draw. Stateful ops (Keras' preprocessing layers,
``tf.random.uniform`` with an op seed) keep hidden counters that neither
survive a restart nor a reordering, so none are used here.

All functions take float32 images (B, H, W, 1) in 0..255.
"""

from __future__ import annotations

from collections.abc import Callable

from fer_cli.config import AugmentConfig
from fer_cli.tf_env import tensorflow_for_tracing as _tf


def batch_seed(seed: int, epoch, step):
    """The stateless seed (shape [2], int64) of one training batch.

    Args:
        seed: the run's seed.
        epoch: epoch index (a Python int or an int64 scalar tensor).
        step: step within the epoch (idem).
    """
    tf = _tf()
    base = tf.constant([seed, 0x5EED], tf.int64)
    return tf.random.experimental.stateless_fold_in(
        tf.random.experimental.stateless_fold_in(base, tf.cast(epoch, tf.int64)), tf.cast(step, tf.int64)
    )


def _part(seed, index: int):
    """An independent sub-seed of `seed`, one per kind of draw."""
    return _tf().random.experimental.stateless_fold_in(seed, index)


def _uniform(seed, shape, low=0.0, high=1.0):
    return _tf().random.stateless_uniform(shape, seed, minval=low, maxval=high)


def random_affine(x, rotate: float, zoom: float, translate: float, seed):
    """Rotate, zoom and shift each image by random amounts, in one resampling.

    Chaining three resampling steps blurs a 48x48 image visibly; one combined
    affine transform resamples once.

    Args:
        x: float32 images (B, H, W, 1).
        rotate: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction.
        translate: largest shift, as a fraction of the side.
        seed: stateless seed, shape [2].
    """
    import math

    tf = _tf()
    batch = tf.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    angle = _uniform(_part(seed, 0), [batch], -rotate, rotate) * 2 * math.pi
    scale = 1.0 + _uniform(_part(seed, 1), [batch], -zoom, zoom)
    tx = _uniform(_part(seed, 2), [batch], -translate, translate) * width
    ty = _uniform(_part(seed, 3), [batch], -translate, translate) * height
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output pixel → input pixel: in = c + R(-angle) (out - c - t) / scale.
    a0, a1 = tf.cos(angle) / scale, tf.sin(angle) / scale
    b0, b1 = -tf.sin(angle) / scale, tf.cos(angle) / scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros = tf.zeros([batch])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=[height, width], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT",
    )


def random_flip(x, seed):
    """Mirror each image left-right with probability 0.5."""
    tf = _tf()
    flip = _uniform(seed, [tf.shape(x)[0]]) < 0.5
    return tf.where(flip[:, None, None, None], tf.reverse(x, axis=[2]), x)


def random_contrast(x, factor: float, seed):
    """Scale each image's deviation from its mean by a random factor in [1 - factor, 1 + factor], kept in 0..255."""
    tf = _tf()
    scale = _uniform(seed, [tf.shape(x)[0], 1, 1, 1], 1.0 - factor, 1.0 + factor)
    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    return tf.clip_by_value((x - mean) * scale + mean, 0.0, 255.0)


def random_brightness(x, factor: float, seed):
    """Add to each image a random offset of up to `factor` of the 0..255 range, kept in 0..255."""
    tf = _tf()
    offset = _uniform(seed, [tf.shape(x)[0], 1, 1, 1], -factor, factor) * 255.0
    return tf.clip_by_value(x + offset, 0.0, 255.0)


def _boxes(tf, batch, height: int, width: int, area_low, area_high, seed):
    """Random boxes (top, left, h, w) per image, with area in [low, high] of the image and aspect 0.3..3.3."""
    area = _uniform(_part(seed, 0), [batch], area_low, area_high) * height * width
    ratio = tf.exp(_uniform(_part(seed, 1), [batch], -1.2, 1.2))
    h = tf.clip_by_value(tf.round(tf.sqrt(area * ratio)), 1, height)
    w = tf.clip_by_value(tf.round(tf.sqrt(area / ratio)), 1, width)
    top = tf.floor(_uniform(_part(seed, 2), [batch]) * (height - h + 1))
    left = tf.floor(_uniform(_part(seed, 3), [batch]) * (width - w + 1))
    return top, left, h, w


def _box_mask(tf, top, left, h, w, height: int, width: int):
    rows = tf.range(height, dtype=tf.float32)[None, :, None]
    cols = tf.range(width, dtype=tf.float32)[None, None, :]
    inside_rows = (rows >= top[:, None, None]) & (rows < (top + h)[:, None, None])
    inside_cols = (cols >= left[:, None, None]) & (cols < (left + w)[:, None, None])
    return (inside_rows & inside_cols)[..., None]  # (B, H, W, 1)


def random_erasing(x, probability: float, seed):
    """Replace a random rectangle (2–25% of the image) with noise, in each image with `probability`.

    Args:
        x: float32 images (B, H, W, 1) in 0..255.
        probability: chance that an image is erased.
        seed: stateless seed, shape [2].

    Returns:
        The images, some erased.
    """
    tf = _tf()
    batch = tf.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    top, left, h, w = _boxes(tf, batch, height, width, 0.02, 0.25, _part(seed, 0))
    apply = _uniform(_part(seed, 1), [batch]) < probability
    mask = _box_mask(tf, top, left, h, w, height, width) & apply[:, None, None, None]
    noise = _uniform(_part(seed, 2), tf.shape(x), 0.0, 255.0)
    return tf.where(mask, noise, x)


def _beta(tf, alpha: float, seed):
    a = tf.random.stateless_gamma([], _part(seed, 0), alpha)
    b = tf.random.stateless_gamma([], _part(seed, 1), alpha)
    return a / (a + b)


def mix_batch(x, y, mixup: float, cutmix: float, seed):
    """Mixup or cutmix between each image and another of the same batch (one of the two per batch).

    Args:
        x: float32 images (B, H, W, 1).
        y: one-hot (or smoothed) targets (B, C).
        mixup: Beta parameter of mixup; 0 turns it off.
        cutmix: Beta parameter of cutmix; 0 turns it off.
        seed: stateless seed, shape [2].

    Returns:
        The mixed images and targets.
    """
    tf = _tf()
    batch = tf.shape(x)[0]
    order = tf.argsort(_uniform(_part(seed, 0), [batch]))
    x2, y2 = tf.gather(x, order), tf.gather(y, order)

    def do_mixup():
        lam = _beta(tf, mixup, _part(seed, 1))
        return lam * x + (1 - lam) * x2, lam * y + (1 - lam) * y2

    def do_cutmix():
        height, width = x.shape[1], x.shape[2]
        cut = 1.0 - _beta(tf, cutmix, _part(seed, 2))
        h = tf.clip_by_value(tf.round(height * tf.sqrt(cut)), 0, height)
        w = tf.clip_by_value(tf.round(width * tf.sqrt(cut)), 0, width)
        top = tf.floor(_uniform(_part(seed, 3), []) * (height - h + 1))
        left = tf.floor(_uniform(_part(seed, 4), []) * (width - w + 1))
        ones = tf.ones([batch])
        mask = _box_mask(tf, top * ones, left * ones, h * ones, w * ones, height, width)
        share = (h * w) / (height * width)
        return tf.where(mask, x2, x), (1 - share) * y + share * y2

    if mixup and cutmix:
        return tf.cond(_uniform(_part(seed, 5), []) < 0.5, do_mixup, do_cutmix)
    return do_mixup() if mixup else do_cutmix()


def batch_augmenter(config: AugmentConfig) -> tuple[Callable | None, Callable | None]:
    """Functions for the pipeline: one on image batches, one on (images, targets) batches.

    Both take the batch's stateless seed (see `batch_seed`) as their last argument.

    Returns:
        ``(images_fn, mix_fn)``; either is `None` when nothing of its kind is on.
    """
    affine = bool(config.rotate or config.zoom or config.translate)

    def images_fn(x, seed):
        if affine:
            x = random_affine(x, config.rotate, config.zoom, config.translate, _part(seed, 10))
        if config.flip:
            x = random_flip(x, _part(seed, 11))
        if config.contrast:
            x = random_contrast(x, config.contrast, _part(seed, 12))
        if config.brightness:
            x = random_brightness(x, config.brightness, _part(seed, 13))
        if config.erasing:
            x = random_erasing(x, config.erasing, _part(seed, 14))
        return x

    def mix_fn(x, y, seed):
        return mix_batch(x, y, config.mixup, config.cutmix, _part(seed, 20))

    images_on = affine or config.flip or config.contrast or config.brightness or config.erasing
    return (images_fn if images_on else None), (mix_fn if config.mixup or config.cutmix else None)
