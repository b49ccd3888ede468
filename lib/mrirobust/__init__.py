"""mrirobust: a reproducible companion to four papers on the robustness of DL MRI reconstruction."""

__version__ = "0.1.0"
