"""What a training run reads: train, validation and report splits, from memory or streamed from shards.

Both kinds give the trainer the same things: sizes and class counts up front,
and `tf.data` pipelines that an input context (one per worker under
tf.distribute) can shard.
"""

from __future__ import annotations

import math

import numpy as np

from fer_cli.config import TrainConfig
from fer_cli.data.cache import Dataset
from fer_cli.data.shards import BUCKETS, ShardSet, parse_records
from fer_cli.errors import DataError


def _train_split_name(splits) -> str:
    name = "train" if "train" in splits else "all"
    if name not in splits:
        raise DataError(f"no training split in the data (it has: {', '.join(sorted(splits))})")
    return name


def split_for_training(dataset: Dataset, config: TrainConfig) -> tuple[tuple, tuple | None]:
    """The (images, labels) to train on and to validate on.

    A ``val`` split in the data is used as is; otherwise a seeded, stratified
    `config.val_split` share of train is held out (none when it is 0).
    """
    from fer_cli.training.pipeline import stratified_split

    train = dataset.splits[_train_split_name(dataset.splits)]
    if "val" in dataset.splits:
        val = dataset.splits["val"]
        return (train.images, train.labels), (val.images, val.labels)
    if config.val_split == 0:
        return (train.images, train.labels), None
    train_idx, val_idx = stratified_split(train.labels, config.val_split, config.validation_seed)
    return (train.images[train_idx], train.labels[train_idx]), (train.images[val_idx], train.labels[val_idx])


class MemoryInputs:
    """Splits held in memory (a .npz cache or a decoded folder).

    Args:
        dataset: the decoded data.
        config: the run's config (validation share, seed, augmentation).
    """

    streamed = False

    def __init__(self, dataset: Dataset, config: TrainConfig):
        self.dataset = dataset
        self.config = config
        self.class_names = dataset.class_names
        (self._x, self._y), self._val = split_for_training(dataset, config)
        self._targets = None
        self.train_count = len(self._y)
        self.val_count = len(self._val[1]) if self._val else 0

    @property
    def splits(self) -> tuple[str, ...]:
        """The names of the data's splits."""
        return tuple(self.dataset.splits)

    @property
    def train_images(self) -> np.ndarray:
        """The uint8 images trained on (N, 48, 48), in the order of `set_targets`."""
        return self._x

    @property
    def train_labels(self) -> np.ndarray:
        """The class index of each training image."""
        return self._y

    def set_targets(self, targets: np.ndarray) -> None:
        """Train on these soft targets (N, classes), one row per training image, instead of one-hot labels."""
        if targets.shape != (self.train_count, len(self.class_names)):
            raise ValueError(f"targets of shape {targets.shape} for {self.train_count} images of {len(self.class_names)} classes")
        self._targets = targets

    @property
    def train_class_counts(self) -> np.ndarray:
        return np.bincount(self._y, minlength=len(self.class_names))

    def train(self, batch_size: int, seed: int, context=None, epoch=0, steps: int | None = None,
              class_weight: dict[int, float] | None = None):
        """One epoch of shuffled, augmented training batches (this pipeline's share under `context`).

        The order and the augmentation depend only on `seed` and `epoch`; see
        `fer_cli.training.pipeline.make_dataset` for the arguments.
        """
        from fer_cli.training.pipeline import make_dataset

        targets = self._y if self._targets is None else self._targets
        return make_dataset(self._x, targets, len(self.class_names), batch_size, True, seed, self.config.augment, context,
                            epoch, steps, class_weight)

    def fingerprint(self) -> str:
        """A hash of what the run learns from: class names, training and validation images and labels."""
        import hashlib

        digest = hashlib.sha256("\n".join(self.class_names).encode())
        for array in (self._x, self._y, *(self._val or ())):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def val(self, batch_size: int, context=None):
        """Validation batches, or `None` when the run has no validation."""
        from fer_cli.training.pipeline import make_dataset

        if not self._val:
            return None
        return make_dataset(*self._val, len(self.class_names), batch_size, False, self.config.seed, None, context)

    def largest_share(self, split: str | None, pipelines: int) -> int:
        """The most examples of `split` (`None`: validation) that any of `pipelines` input pipelines reads."""
        count = self.val_count if split is None else len(self.dataset.split(split))
        return math.ceil(count / pipelines)

    def report(self, name: str, batch_size: int, context=None):
        """Batches of another split (e.g. ``test``), reported but never used to select."""
        from fer_cli.training.pipeline import make_dataset

        split = self.dataset.split(name)
        return make_dataset(split.images, split.labels, len(self.class_names), batch_size, False, 0, None, context)


class StreamInputs:
    """Splits streamed from TFRecord shards, never loaded whole.

    Without a ``val`` split, the records whose path bucket is below
    ``BUCKETS × val_split`` are held out, so the share is rounded to 0.1%.

    Args:
        shards: the shard folder.
        config: the run's config (validation share, seed, augmentation, shuffle buffer).
    """

    streamed = True

    def __init__(self, shards: ShardSet, config: TrainConfig):
        self.shards = shards
        self.config = config
        self.class_names = shards.class_names
        self._train = _train_split_name(shards.splits)
        counts = shards.bucket_counts(self._train)
        if "val" in shards.splits:
            self._cut = 0
            self._val_split = "val"
            val_counts = shards.bucket_counts("val").sum(axis=0)
        else:
            self._cut = round(config.val_split * BUCKETS)
            self._val_split = self._train if self._cut else None
            val_counts = counts[: self._cut].sum(axis=0)
        self._train_counts = counts[self._cut :].sum(axis=0)
        self.train_count = int(self._train_counts.sum())
        self.val_count = int(val_counts.sum()) if self._val_split else 0
        if self.train_count == 0:
            raise DataError("no training images left after holding out the validation share")

    @property
    def splits(self) -> tuple[str, ...]:
        """The names of the shard set's splits."""
        return tuple(self.shards.splits)

    @property
    def train_class_counts(self) -> np.ndarray:
        return self._train_counts

    def largest_share(self, split: str | None, pipelines: int) -> int:
        """The most examples of `split` (`None`: validation) that any of `pipelines` input pipelines reads.

        An upper bound: it counts records before the validation filter.
        """
        name = self._val_split if split is None else split
        if name is None:
            return 0
        sizes = [shard["images"] for shard in self.shards.manifest["shards"][name]]
        if pipelines > 1 and len(sizes) >= pipelines:
            return max(sum(sizes[p::pipelines]) for p in range(pipelines))
        return math.ceil(sum(sizes) / pipelines)

    def fingerprint(self) -> str:
        """A hash of the shard set's content, class names and validation cut."""
        import hashlib

        manifest = self.shards.manifest
        content = manifest.get("content_fingerprint") or manifest.get("source_fingerprint", "")
        text = "\n".join([*self.class_names, str(content), str(self._cut), str(self.train_count)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _examples(self, split: str, context, shuffle: bool, seed: int, keep_bucket=None, epoch=0):
        from fer_cli.tf_env import tensorflow_for_tracing
        from fer_cli.training.pipeline import shuffle_seed

        tf = tensorflow_for_tracing()
        files = self.shards.files(split)
        pipelines = context.num_input_pipelines if context is not None else 1
        by_file = pipelines > 1 and len(files) >= pipelines
        mine = files[context.input_pipeline_id :: pipelines] if by_file else files  # each worker reads its own files
        with tf.init_scope():
            names = tf.constant(mine)
        if shuffle:
            # The file order, and below the buffer's draws, depend only on (seed, epoch):
            # each epoch is a fresh dataset, so a fixed buffer seed still differs by its input order.
            names = tf.gather(names, tf.random.experimental.stateless_shuffle(tf.range(len(mine)), seed=shuffle_seed(seed, epoch)))
        ds = tf.data.Dataset.from_tensor_slices(names)
        ds = ds.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(4, len(mine)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if pipelines > 1 and not by_file:
            # Fewer files than workers: each reads them all and keeps every n-th record.
            ds = ds.shard(pipelines, context.input_pipeline_id)
        ds = ds.batch(1024).map(parse_records, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
        if keep_bucket is not None:
            ds = ds.filter(lambda r: keep_bucket(r["bucket"]))
        ds = ds.map(lambda r: (r["image"], tf.cast(r["label"], tf.int32)))
        if shuffle:
            ds = ds.shuffle(self.config.shuffle_buffer, seed=seed + 1)
        return ds

    def train(self, batch_size: int, seed: int, context=None, epoch=0, steps: int | None = None,
              class_weight: dict[int, float] | None = None):
        """One epoch of shuffled (file order, then a `shuffle_buffer`), augmented training batches.

        The order and the augmentation depend only on `seed` and `epoch`; see
        `fer_cli.training.pipeline.batch_examples` for the arguments.
        """
        from fer_cli.training.pipeline import batch_examples

        cut = self._cut
        keep = (lambda b: b >= cut) if cut else None
        ds = self._examples(self._train, context, True, seed, keep, epoch)
        return batch_examples(ds, len(self.class_names), batch_size, seed, self.config.augment, epoch, steps, class_weight)

    def val(self, batch_size: int, context=None):
        """Validation batches, or `None` when the run has no validation."""
        from fer_cli.training.pipeline import batch_examples

        if not self._val_split:
            return None
        cut = self._cut
        keep = (lambda b: b < cut) if self._val_split == self._train else None
        ds = self._examples(self._val_split, context, False, 0, keep)
        return _counted(batch_examples(ds, len(self.class_names), batch_size, 0), self.val_count, batch_size, context)

    def report(self, name: str, batch_size: int, context=None):
        """Batches of another split (e.g. ``test``), reported but never used to select."""
        from fer_cli.training.pipeline import batch_examples

        if name not in self.shards.splits:
            raise DataError(f"no split {name!r} in {self.shards.path} (it has: {', '.join(self.shards.splits)})")
        count = sum(self.shards.manifest["counts"][name].values())
        ds = batch_examples(self._examples(name, context, False, 0), len(self.class_names), batch_size, 0)
        return _counted(ds, count, batch_size, context)


def _counted(ds, count: int, batch_size: int, context):
    """Tell tf.data (and so Keras) how many batches a whole, unsharded stream holds."""
    if context is not None and context.num_input_pipelines > 1:
        return ds
    from fer_cli.tf_env import tensorflow

    return ds.apply(tensorflow().data.experimental.assert_cardinality(math.ceil(count / batch_size)))


def open_inputs(data, config: TrainConfig, loader) -> MemoryInputs | StreamInputs:
    """The inputs of a run: streamed when `data` is a shard folder, else loaded by `loader`."""
    from pathlib import Path

    from fer_cli.data.shards import is_shard_dir, load_shards

    source = load_shards(Path(data)) if is_shard_dir(Path(data)) else loader(Path(data))
    if config.report_split and config.report_split not in source.splits:
        # Refused up front: reporting another split under this name would log, say, train accuracy as `test_accuracy`.
        raise DataError(f"report_split {config.report_split!r} is not in the data (it has: {', '.join(sorted(source.splits))})")
    return StreamInputs(source, config) if is_shard_dir(Path(data)) else MemoryInputs(source, config)
