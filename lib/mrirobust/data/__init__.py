"""Data access: fastMRI / fastMRI+ readers, masks and the embedded dataset generator."""
