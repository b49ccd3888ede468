"""mrirobust: a reproducible companion to four papers on the robustness of DL MRI reconstruction."""

__version__ = "0.1.0"

import os as _os

if _os.environ.get("MRIROBUST_DEVICE", "").strip() == "standin":
    # registered at import, before any backward pass: autograd sizes its device queues then
    from mrirobust import standin as _standin

    _standin.register()
