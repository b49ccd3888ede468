"""Morshuis 2022 settings: the reduced model sizes of the paper and the attack section."""

from __future__ import annotations

# VarNet 8 cascades (from 12), channels halved, sensitivity U-Net top channels 6; U-Net halved
MODEL_SIZES = {
    "morshuis": {
        "unet_chans": 16,
        "unet_pools": 4,
        "varnet_cascades": 8,
        "varnet_chans": 9,
        "varnet_pools": 4,
        "varnet_sens_chans": 6,
        "varnet_sens_pools": 4,
    }
}
