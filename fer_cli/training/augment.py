"""Random changes to training batches, as TensorFlow ops inside the tf.data pipeline.

Geometric and photometric changes use Keras preprocessing layers; random
erasing, mixup and cutmix are written here (Keras 3 has no layer for them and
KerasCV is not a dependency). All take float32 images in 0..255.
"""

from __future__ import annotations

from collections.abc import Callable

from fer_cli.config import AugmentConfig


def random_affine(x, rotate: float, zoom: float, translate: float, seed: int):
    """Rotate, zoom and shift each image by random amounts, in one resampling.

    Chaining Keras' RandomRotation, RandomZoom and RandomTranslation resamples
    a 48x48 image three times and visibly blurs it; one combined affine
    transform resamples once.

    Args:
        x: float32 images (B, H, W, 1).
        rotate: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction.
        translate: largest shift, as a fraction of the side.
        seed: op seed.
    """
    import math

    import tensorflow as tf

    batch = tf.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    angle = tf.random.uniform([batch], -rotate, rotate, seed=seed) * 2 * math.pi
    scale = 1.0 + tf.random.uniform([batch], -zoom, zoom, seed=seed + 1)
    tx = tf.random.uniform([batch], -translate, translate, seed=seed + 2) * width
    ty = tf.random.uniform([batch], -translate, translate, seed=seed + 3) * height
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


def image_layers(config: AugmentConfig, seed: int) -> list:
    """The Keras layers for flips, contrast and brightness that `config` turns on."""
    from keras import layers

    steps = []
    if config.flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if config.contrast:
        steps.append(layers.RandomContrast(config.contrast, value_range=(0, 255), seed=seed + 4))
    if config.brightness:
        steps.append(layers.RandomBrightness(config.brightness, value_range=(0, 255), seed=seed + 5))
    return steps


def _boxes(tf, batch, height: int, width: int, area_low, area_high, seed: int):
    """Random boxes (top, left, h, w) per image, with area in [low, high] of the image and aspect 0.3..3.3."""
    area = tf.random.uniform([batch], area_low, area_high, seed=seed) * height * width
    log_ratio = tf.random.uniform([batch], -1.2, 1.2, seed=seed + 1)
    ratio = tf.exp(log_ratio)
    h = tf.clip_by_value(tf.round(tf.sqrt(area * ratio)), 1, height)
    w = tf.clip_by_value(tf.round(tf.sqrt(area / ratio)), 1, width)
    top = tf.floor(tf.random.uniform([batch], seed=seed + 2) * (height - h + 1))
    left = tf.floor(tf.random.uniform([batch], seed=seed + 3) * (width - w + 1))
    return top, left, h, w


def _box_mask(tf, top, left, h, w, height: int, width: int):
    rows = tf.range(height, dtype=tf.float32)[None, :, None]
    cols = tf.range(width, dtype=tf.float32)[None, None, :]
    inside_rows = (rows >= top[:, None, None]) & (rows < (top + h)[:, None, None])
    inside_cols = (cols >= left[:, None, None]) & (cols < (left + w)[:, None, None])
    return (inside_rows & inside_cols)[..., None]  # (B, H, W, 1)


def random_erasing(x, probability: float, seed: int):
    """Replace a random rectangle (2–25% of the image) with noise, in each image with `probability`.

    Args:
        x: float32 images (B, H, W, 1) in 0..255.
        probability: chance that an image is erased.
        seed: op seed.

    Returns:
        The images, some erased.
    """
    import tensorflow as tf

    batch = tf.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    top, left, h, w = _boxes(tf, batch, height, width, 0.02, 0.25, seed)
    apply = tf.random.uniform([batch], seed=seed + 4) < probability
    mask = _box_mask(tf, top, left, h, w, height, width) & apply[:, None, None, None]
    noise = tf.random.uniform(tf.shape(x), 0, 255, seed=seed + 5)
    return tf.where(mask, noise, x)


def _beta(tf, alpha: float, seed: int):
    a = tf.random.gamma([], alpha, seed=seed)
    b = tf.random.gamma([], alpha, seed=seed + 1)
    return a / (a + b)


def mix_batch(x, y, mixup: float, cutmix: float, seed: int):
    """Mixup or cutmix between each image and another of the same batch (one of the two per batch).

    Args:
        x: float32 images (B, H, W, 1).
        y: one-hot (or smoothed) targets (B, C).
        mixup: Beta parameter of mixup; 0 turns it off.
        cutmix: Beta parameter of cutmix; 0 turns it off.
        seed: op seed.

    Returns:
        The mixed images and targets.
    """
    import tensorflow as tf

    batch = tf.shape(x)[0]
    order = tf.random.shuffle(tf.range(batch), seed=seed)
    x2, y2 = tf.gather(x, order), tf.gather(y, order)

    def do_mixup():
        lam = _beta(tf, mixup, seed + 1)
        return lam * x + (1 - lam) * x2, lam * y + (1 - lam) * y2

    def do_cutmix():
        height, width = x.shape[1], x.shape[2]
        lam = _beta(tf, cutmix, seed + 3)
        cut = 1.0 - lam
        h = tf.clip_by_value(tf.round(height * tf.sqrt(cut)), 0, height)
        w = tf.clip_by_value(tf.round(width * tf.sqrt(cut)), 0, width)
        top = tf.floor(tf.random.uniform([], seed=seed + 5) * (height - h + 1))
        left = tf.floor(tf.random.uniform([], seed=seed + 6) * (width - w + 1))
        ones = tf.ones([batch])
        mask = _box_mask(tf, top * ones, left * ones, h * ones, w * ones, height, width)
        share = (h * w) / (height * width)
        return tf.where(mask, x2, x), (1 - share) * y + share * y2

    if mixup and cutmix:
        return tf.cond(tf.random.uniform([], seed=seed + 7) < 0.5, do_mixup, do_cutmix)
    return do_mixup() if mixup else do_cutmix()


def batch_augmenter(config: AugmentConfig, seed: int) -> tuple[Callable | None, Callable | None]:
    """Functions for the pipeline: one on image batches, one on (images, targets) batches.

    Returns:
        ``(images_fn, mix_fn)``; either is `None` when nothing of its kind is on.
    """
    steps = image_layers(config, seed)
    erasing = config.erasing
    affine = bool(config.rotate or config.zoom or config.translate)

    def images_fn(x):
        if affine:
            x = random_affine(x, config.rotate, config.zoom, config.translate, seed + 30)
        for step in steps:
            x = step(x, training=True)
        if erasing:
            x = random_erasing(x, erasing, seed + 10)
        return x

    def mix_fn(x, y):
        return mix_batch(x, y, config.mixup, config.cutmix, seed + 20)

    return (images_fn if steps or erasing or affine else None), (mix_fn if config.mixup or config.cutmix else None)
