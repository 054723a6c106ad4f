"""Data sets: finding images (folders or fer2013.csv), decoding them, caching them as .npz."""

from fer_cli.data.cache import CacheResult, Dataset, build_cache, default_cache_path, load_dataset

__all__ = ["CacheResult", "Dataset", "build_cache", "default_cache_path", "load_dataset"]
