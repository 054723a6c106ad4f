"""Prediction on photos and videos: finding inputs, turning each into face crops, batching through a runtime, following faces from frame to frame."""
