"""Prediction on image files: finding inputs, turning each into face crops, batching through a runtime."""
