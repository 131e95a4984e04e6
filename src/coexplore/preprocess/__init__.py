"""Preprocessing: radiometry, atmosphere, geometry, resampling, denoising."""
