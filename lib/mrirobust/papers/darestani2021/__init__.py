"""Darestani et al. 2021, "Measuring robustness in deep learning based compressive sensing"."""
