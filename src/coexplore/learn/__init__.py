"""Samples, splits, training, evaluation."""
