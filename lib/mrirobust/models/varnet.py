"""End-to-end variational network (fastMRI's `VarNet`) behind the complex-tensor interface."""

from __future__ import annotations

import torch
from fastmri.models import VarNet

from mrirobust import physics
from mrirobust.models.base import Reconstructor


class VarNetRecon(Reconstructor):
    """fastMRI's E2E-VarNet: cascades of k-space data consistency + U-Net refinement, with
    sensitivity maps estimated from the ACS centre by a U-Net; RSS output cropped to
    `image_size`. Complex k-space is converted to fastmri's `(..., 2)` layout only here."""

    name = "varnet"

    def __init__(
        self,
        image_size: tuple[int, int],
        num_cascades: int,
        chans: int,
        pools: int,
        sens_chans: int,
        sens_pools: int,
    ):
        super().__init__(image_size)
        self.varnet = VarNet(
            num_cascades=num_cascades,
            chans=chans,
            pools=pools,
            sens_chans=sens_chans,
            sens_pools=sens_pools,
        )

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        columns = physics.column_mask_of(mask, masked_kspace)
        kspace = physics.to_fastmri(physics.apply_mask(masked_kspace, columns))
        # fastmri finds the ACS width from the contiguous sampled centre of the mask
        image = self.varnet(kspace, columns.unsqueeze(-1))
        return physics.center_crop(image, self.output_size(masked_kspace.shape))
