"""Huang & Liang, "Robustness of Deep Learning in MRI Reconstruction" (UMN CSCI 8980 report,
2020): min-max training of a U-Net against a perturbation generator (Table 1, Fig. 4-6) and its
k-space version (Algorithm 2)."""
