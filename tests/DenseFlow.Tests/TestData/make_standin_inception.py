"""Makes standin-inception.pt: a tiny TorchScript network in the file format of clean-fid's
inception-2015-12-05.pt, for the tests of `denseflow fid` (the real weights cannot be downloaded here).

Same interface as the real file: a `layers` submodule that maps normalised 299x299 RGB input,
(x - 128) / 128, to pooled features of shape (B, D, 1, 1) (D = 2048 in the real network, 8 here),
and forward(img, return_features) on 0..255 input that resizes inside. Weights are fixed by the seed.
Run with Debian's PyTorch:  /usr/bin/python3 make_standin_inception.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=5, stride=4)

    def forward(self, x):
        return F.adaptive_avg_pool2d(torch.tanh(self.conv(x)), 1)


class StandIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = Layers()
        self.output = nn.Linear(8, 10)

    def forward(self, img, return_features: bool = False):
        x = F.interpolate(img, size=(299, 299), mode="bilinear", align_corners=False)
        features = self.layers((x - 128) / 128).flatten(1)
        if return_features:
            return features
        return self.output(features)


torch.manual_seed(2015)
torch.jit.script(StandIn().eval()).save("standin-inception.pt")
