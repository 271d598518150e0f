"""U-GAT-IT generator and discriminators: shapes, CAM outputs, AdaLIN/LIN numerics, rho clipping, sizes, config."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from i2i.config import from_dict
from i2i.errors import ConfigError
from i2i.models import (
    DiscriminatorConfig,
    GeneratorConfig,
    create_discriminator,
    create_generator,
    list_discriminators,
    list_generators,
)
from i2i.models.discriminators import receptive_field
from i2i.models.ugatit import (
    LIN,
    AdaLIN,
    UGATITDiscriminator,
    UGATITDiscriminatorConfig,
    UGATITGenerator,
    UGATITGeneratorConfig,
)


def generator(**overrides) -> UGATITGenerator:
    torch.manual_seed(0)
    return create_generator("ugatit", **{"ngf": 8, "n_blocks": 1, "light": True, **overrides})


def discriminator(n_layers: int, ndf: int = 4, **overrides) -> UGATITDiscriminator:
    torch.manual_seed(0)
    return create_discriminator("ugatit", 3, n_layers=n_layers, ndf=ndf, **overrides)


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def as_tuple(y: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return y if isinstance(y, tuple) else (y,)


# -- generator: shapes and outputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(32, 32), (8, 8), (36, 60), (64, 44)])
def test_light_output_shape_and_range(size: tuple[int, int]) -> None:
    """The light generator takes any sides that are multiples of 4 and gives tanh values of the input's size."""
    net = create_generator("ugatit", 3, 1, ngf=4, n_blocks=1, light=True).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, *size) * 2 - 1)
    assert y.shape == (2, 1, *size)
    assert y.abs().max() <= 1.0 and y.std() > 0


def test_forward_with_cam_shapes_and_forward_is_its_image() -> None:
    """forward_with_cam gives (image, CAM logits (B, 2), heatmap at 1/4 size); forward gives the same image."""
    net = generator(n_blocks=2).eval()
    x = torch.rand(3, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        image, cam_logit, heatmap = net.forward_with_cam(x)
        assert torch.equal(net(x), image)
    assert image.shape == x.shape
    assert cam_logit.shape == (3, 2)
    assert heatmap.shape == (3, 1, 8, 12)


def test_full_mode_size_and_parameter_count() -> None:
    """Full mode's first MLP layer reads the flattened (img_size/4)²·4·ngf map; otherwise the two modes match."""
    light, full = generator(n_blocks=2), generator(n_blocks=2, light=False, img_size=32)
    c = 4 * 8
    assert n_params(full) - n_params(light) == ((32 // 4) ** 2 * c - c) * c
    assert full.mlp[0].in_features == 8 * 8 * c
    with torch.no_grad():
        image, cam_logit, heatmap = full.eval().forward_with_cam(torch.rand(2, 3, 32, 32))
    assert (image.shape, cam_logit.shape, heatmap.shape) == ((2, 3, 32, 32), (2, 2), (2, 1, 8, 8))


def test_full_mode_rejects_another_size() -> None:
    """A full generator fed another size raises a one-line ValueError that says what to do."""
    net = generator(light=False, img_size=32)
    with pytest.raises(
        ValueError, match=r"^full U-GAT-IT generator was built for 32x32 inputs, got 36x40 \(HxW\); .*light"
    ) as info:
        net(torch.rand(1, 3, 36, 40))
    assert "\n" not in str(info.value)


def test_default_parameter_counts() -> None:
    """At 256², ngf 64 and 4 + 4 blocks: 278.96 M parameters in full mode (268.4 M in one layer), 10.59 M light."""
    with torch.device("meta"):  # the full generator would take over 1 GB of float32 weights
        full, light = create_generator("ugatit"), create_generator("ugatit", light=True)
    assert n_params(full) == 278_959_808
    assert full.mlp[0].weight.numel() == 64 * 64 * 256 * 256
    assert n_params(light) == 10_589_888


def test_registry_and_size_multiple() -> None:
    assert "ugatit" in list_generators() and "ugatit" in list_discriminators()
    assert type(from_dict(GeneratorConfig, {"name": "ugatit"})) is UGATITGeneratorConfig
    assert type(from_dict(DiscriminatorConfig, {"name": "ugatit"})) is UGATITDiscriminatorConfig
    assert generator().size_multiple == 4 and UGATITGeneratorConfig().size_multiple == 4
    assert UGATITGeneratorConfig().fixed_size == 256 and UGATITGeneratorConfig(light=True).fixed_size is None
    cfg = UGATITDiscriminatorConfig()
    assert (cfg.n_layers, cfg.ndf, cfg.spectral_norm) == (7, 64, True)


def test_gradient_reaches_every_generator_parameter() -> None:
    """The image alone back-propagates into every weight: encoder, CAM classifiers, MLP, γ/β, ρ, decoder."""
    for light in (True, False):
        net = generator(light=light, img_size=16)
        y = net(torch.rand(2, 3, 16, 16) * 2 - 1)
        (y * torch.randn_like(y)).sum().backward()
        missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        assert not missing


def test_default_init_is_pytorch_default() -> None:
    """No re-initialization: conv weights keep PyTorch's kaiming-uniform bound, not N(0, 0.02)."""
    conv = generator(ngf=16).encoder[1]
    bound = 1 / (conv.in_channels * 49) ** 0.5
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound


# -- normalization ---------------------------------------------------------------------------------------------


def mixed_norm_reference(x: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """ρ·IN + (1−ρ)·LN written out in float64, with unbiased variances (divide by n − 1)."""
    x = x.double()
    b, c, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(b):
        n = c * h * w
        ln_mean = x[i].sum() / n
        ln_var = ((x[i] - ln_mean) ** 2).sum() / (n - 1)
        for j in range(c):
            m = x[i, j].sum() / (h * w)
            v = ((x[i, j] - m) ** 2).sum() / (h * w - 1)
            x_in = (x[i, j] - m) / (v + 1e-5).sqrt()
            x_ln = (x[i, j] - ln_mean) / (ln_var + 1e-5).sqrt()
            out[i, j] = rho[j] * x_in + (1 - rho[j]) * x_ln
    return out


def test_adalin_matches_reference() -> None:
    """AdaLIN = (ρ·IN + (1−ρ)·LN)·γ + β with per-image γ, β, against a float64 reference."""
    torch.manual_seed(0)
    norm = AdaLIN(5)
    assert torch.equal(norm.rho, torch.full((1, 5, 1, 1), 0.9))
    with torch.no_grad():
        norm.rho.copy_(torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0]).view(1, 5, 1, 1))
    x = torch.randn(3, 5, 6, 7) * 3 + 1
    gamma, beta = torch.randn(3, 5), torch.randn(3, 5)
    expected = mixed_norm_reference(x, norm.rho.view(5).double()) * gamma.double()[:, :, None, None]
    expected = expected + beta.double()[:, :, None, None]
    with torch.no_grad():
        torch.testing.assert_close(norm(x, gamma, beta).double(), expected, atol=1e-5, rtol=1e-5)


def test_lin_matches_reference_and_starts_as_layer_norm() -> None:
    """LIN starts at ρ = 0, γ = 1, β = 0 (pure layer norm) and follows the same formula with learned γ, β."""
    torch.manual_seed(0)
    norm = LIN(4)
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(norm(x).double(), mixed_norm_reference(x, torch.zeros(4)), atol=1e-5, rtol=1e-5)
        for p in (norm.rho, norm.gamma, norm.beta):
            p.uniform_(0, 1)
        expected = mixed_norm_reference(x, norm.rho.view(4).double()) * norm.gamma.double() + norm.beta.double()
        torch.testing.assert_close(norm(x).double(), expected, atol=1e-5, rtol=1e-5)


def test_norms_compute_in_float32_under_bf16() -> None:
    """Under bf16 autocast the statistics are float32 and the output keeps the input's dtype."""
    norm = AdaLIN(4)
    x = torch.randn(2, 4, 8, 8) * 5 + 3
    gamma, beta = torch.ones(2, 4), torch.zeros(2, 4)
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        y = norm(x.bfloat16(), gamma.bfloat16(), beta.bfloat16())
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), norm(x.bfloat16().float(), gamma, beta).detach(), atol=0.02, rtol=0.01)


def test_clip_rho() -> None:
    """clip_rho clamps every AdaLIN and LIN ρ into [0, 1] in place and leaves other weights alone."""
    net = generator(n_blocks=2)
    norms = [m for m in net.modules() if isinstance(m, (AdaLIN, LIN))]
    assert len(norms) == 2 * 2 + 2
    with torch.no_grad():
        for m in norms:
            m.rho.copy_(torch.linspace(-1, 2, m.rho.numel()).view_as(m.rho))
    before = {n: p.clone() for n, p in net.named_parameters() if not n.endswith("rho")}
    rho_params = [m.rho for m in norms]
    net.clip_rho()
    assert all(m.rho is p for m, p in zip(norms, rho_params, strict=True))
    for m in norms:
        assert m.rho.min() == 0 and m.rho.max() == 1
        torch.testing.assert_close(m.rho, torch.linspace(-1, 2, m.rho.numel()).clamp(0, 1).view_as(m.rho))
    assert all(torch.equal(p, before[n]) for n, p in net.named_parameters() if n in before)


# -- discriminator ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_layers", "size", "grid"),
    [(4, 64, 14), (5, 64, 6), (7, 64, 0), (4, 256, 62), (5, 256, 30), (7, 256, 6)],
)
def test_discriminator_shapes(n_layers: int, size: int, grid: int) -> None:
    """Logits (B, 1, g, g), CAM logits (B, 2) and a heatmap one larger than the grid (before the last 4×4 conv)."""
    net = discriminator(n_layers).eval()
    x = torch.rand(2, 3, size, size) * 2 - 1
    if grid == 0:  # 64² is too small for 5 stride-2 convs and two 4×4 ones: reflect padding fails
        with pytest.raises(RuntimeError):
            net(x)
        return
    with torch.no_grad():
        out, cam_logit, heatmap = net(x)
    assert out.shape == (2, 1, grid, grid)
    assert cam_logit.shape == (2, 2)
    assert heatmap.shape == (2, 1, grid + 1, grid + 1)


@pytest.mark.parametrize(("n_layers", "side"), [(4, 34), (5, 70), (7, 286)])
def test_discriminator_patch_size(n_layers: int, side: int) -> None:
    """n_layers sets the patch: 5 (local) sees the paper's 70×70, 7 (global) 286×286."""
    assert receptive_field(discriminator(n_layers)) == side


def test_local_patch_measured() -> None:
    """Back-propagating the centre logit of the local D reaches exactly a 70×70 input window."""
    net = discriminator(5, ndf=2, spectral_norm=False)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.abs_()  # positive weights and leaky ReLUs: no gradient can cancel
    x = torch.rand(1, 3, 128, 128).requires_grad_(True)
    out = net(x)[0]
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(1)[0], as_tuple=True)
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70
    assert rows.min() > 0 and rows.max() < 127


def test_n_layers_changes_depth_and_parameters() -> None:
    """Each extra layer adds one stride-2 conv and doubles the CAM width; the parameter count grows."""
    counts = [n_params(discriminator(n)) for n in (4, 5, 6, 7)]
    assert counts == sorted(set(counts))
    for n in (4, 5, 7):
        net = discriminator(n)
        convs = [m for m in net.body.modules() if isinstance(m, nn.Conv2d)]
        assert [c.stride[0] for c in convs] == [2] * (n - 2) + [1]
        assert net.cam.gap_fc.in_features == 4 * 2 ** (n - 2)


def test_spectral_norm_present_or_absent() -> None:
    """With spectral_norm every conv and CAM classifier is normalized except the 1×1 fusion conv; without, none."""
    with_sn = discriminator(5)
    layers = [m for m in with_sn.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    normalized = [parametrize.is_parametrized(m, "weight") for m in layers]
    assert sum(normalized) == len(layers) - 1
    assert not parametrize.is_parametrized(with_sn.cam.fuse[0])
    without = discriminator(5, spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in without.modules())
    assert n_params(with_sn) == n_params(without)
    # the normalized weight has spectral norm ≈ 1 after a few power iterations in train mode
    with torch.no_grad():
        for _ in range(20):
            with_sn(torch.rand(1, 3, 32, 32))
    w = with_sn.body[1].weight
    assert torch.linalg.matrix_norm(w.flatten(1), ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_gradient_reaches_every_discriminator_parameter() -> None:
    net = discriminator(5)
    out, cam_logit, heatmap = net(torch.rand(2, 3, 64, 64) * 2 - 1)
    (out * torch.randn_like(out)).sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


# -- precision, memory layout, copies --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["generator", "full_generator", "discriminator"])
def test_channels_last_bf16_and_deepcopy(kind: str) -> None:
    """channels_last inputs give the float32 result; bf16 autocast runs and stays close; deep copies agree."""
    if kind == "discriminator":
        net: nn.Module = discriminator(5)
    else:
        net = generator(n_blocks=2, light=kind == "generator", img_size=32)
    net.eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ref = as_tuple(net(x))
        for a, b in zip(as_tuple(net(x.contiguous(memory_format=torch.channels_last))), ref, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
        for a, b in zip(as_tuple(copy.deepcopy(net)(x)), ref, strict=True):
            assert torch.equal(a, b)
        with torch.autocast("cpu", torch.bfloat16):
            low = as_tuple(net(x.contiguous(memory_format=torch.channels_last)))
    for a, b in zip(low, ref, strict=True):
        assert a.dtype == torch.bfloat16 and torch.isfinite(a).all()
        assert (a.float() - b).abs().max() <= 0.05 * max(1.0, b.abs().max().item())


def test_bf16_training_step_backward() -> None:
    """A bf16-autocast forward/backward through G and D gives finite float32 gradients."""
    gen, disc = generator(), discriminator(4)
    with torch.autocast("cpu", torch.bfloat16):
        fake, cam_logit, _ = gen.forward_with_cam(torch.rand(2, 3, 32, 32) * 2 - 1)
        out, d_cam, _ = disc(fake)
        loss = out.float().square().mean() + d_cam.float().square().mean() + cam_logit.float().square().mean()
    loss.backward()
    grads = [p.grad for p in [*gen.parameters(), *disc.parameters()]]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


# -- config validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "overrides", "field"),
    [
        ("generator", {"ngf": 0}, "ngf"),
        ("generator", {"n_blocks": 0}, "n_blocks"),
        ("generator", {"img_size": 30}, "img_size"),
        ("generator", {"img_size": 4}, "img_size"),
        ("generator", {"light": "yes"}, "light"),
        ("discriminator", {"n_layers": 3}, "n_layers"),
        ("discriminator", {"ndf": 0}, "ndf"),
        ("discriminator", {"spectral_norm": 1}, "spectral_norm"),
    ],
)
def test_invalid_config(section: str, overrides: dict, field: str) -> None:
    """Bad values raise a ConfigError naming the field."""
    base = GeneratorConfig if section == "generator" else DiscriminatorConfig
    with pytest.raises(ConfigError, match=rf"^{section}\.{field}:"):
        from_dict(base, {"name": "ugatit", **overrides}, section)


@pytest.mark.parametrize(("n_layers", "expected"), [(4, 12), (5, 24), (6, 48), (7, 96)])
def test_discriminator_min_size_is_exact(n_layers: int, expected: int) -> None:
    """The smallest input that runs; one pixel less fails inside reflection padding (what the config check avoids)."""
    cfg = UGATITDiscriminatorConfig(n_layers=n_layers, ndf=2)
    assert cfg.min_size == expected
    net = cfg.build(3)
    net(torch.zeros(1, 3, expected, expected))
    with pytest.raises(RuntimeError, match="Padding size"):
        net(torch.zeros(1, 3, expected - 1, expected - 1))
