"""The torch networks of the import tests (built here, exported with torch.onnx.export)."""
from __future__ import annotations

import torch
from torch import nn


class ResidualCNN(nn.Module):
    """conv-BN-ReLU stem, one residual block with BN (identity skip) and one with a strided
    1x1 projection, global average pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.b2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
        self.proj = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.b1(x))
        x = torch.relu(self.proj(x) + self.b2(x))
        x = self.pool(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.head(x), dim=1)


class SEBlock(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s


class DepthwiseSE(nn.Module):
    """MobileNetV3-style: input normalization, depthwise 3x3 + BN + hard swish, squeeze and
    excitation, pointwise 1x1 + BN, 2x nearest upsampling, a head over the flattened map."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.expand = nn.Sequential(nn.Conv2d(3, 16, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16),
                                nn.Hardswish())
        self.se = SEBlock(16)
        self.pw = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Linear(8 * 8 * 8, 4)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = self.pw(self.se(self.dw(self.expand(x))))
        x = nn.functional.avg_pool2d(self.up(x), 2)
        x = nn.functional.max_pool2d(x, 1)
        return self.head(x.reshape(x.shape[0], -1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 32), nn.LeakyReLU(0.1), nn.Dropout(0.2), nn.Linear(32, 16), nn.ELU(),
                                 nn.LayerNorm(16), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Running statistics and affine parameters away from their defaults, so BN is not an identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


NETS = {"residual_cnn": (ResidualCNN, (3, 16, 16)), "depthwise_se": (DepthwiseSE, (3, 8, 8)), "mlp": (MLP, (12,))}


def export(name: str, path, opset: int = 17, dynamic_batch: bool = True, seed: int = 0, fold_bn: bool = True):
    """Export the named network (seeded, BN randomized, eval mode) to ``path``; the model.
    ``fold_bn=False`` keeps the BatchNormalization nodes (the exporter's PRESERVE mode)."""
    cls, shape = NETS[name]
    torch.manual_seed(seed)
    model = randomize_bn(cls(), seed)
    x = torch.randn(2, *shape)
    kw = dict(dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}) if dynamic_batch else {}
    if not fold_bn:
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["output"], opset_version=opset,
                      dynamo=False, **kw)
    return model
