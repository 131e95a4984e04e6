"""Engineered per-pixel features: spectral indices, tasseled cap, GLCM
texture, terrain, seasonal composites, the feature stack and feature selection.

Import the submodules directly, e.g. ``from coexplore.features.stack import
build_feature_stack``.
"""
