"""Reconstruction methods behind one interface: `recon(masked_kspace, mask) -> image`.

The method classes, and the registry that describes (`spec`) and builds (`build`) them.
Ready (loaded or trained) models come from `mrirobust.zoo.get`.
"""

from mrirobust.models.base import Reconstructor, ZeroFilled
from mrirobust.models.convdecoder import ConvDecoder
from mrirobust.models.l1 import L1Wavelet
from mrirobust.models.registry import METHODS, ModelSpec, build, spec
from mrirobust.models.unet import UNetRecon
from mrirobust.models.varnet import VarNetRecon

__all__ = [
    "METHODS",
    "ConvDecoder",
    "L1Wavelet",
    "ModelSpec",
    "Reconstructor",
    "UNetRecon",
    "VarNetRecon",
    "ZeroFilled",
    "build",
    "spec",
]
