"""Adversarial attacks that run on every Reconstructor."""
