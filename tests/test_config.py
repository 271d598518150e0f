"""Configs: every recipe loads and says what its docs say; overrides are typed; mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO

from i2i.cli import main
from i2i.config import describe_options, to_dict
from i2i.errors import ConfigError
from i2i.run_config import RunConfig, load_config

RECIPES = sorted(p for p in (REPO / "configs").rglob("*.yaml") if "palettes" not in p.parts)  # palettes: not recipes


def test_there_are_recipes() -> None:
    assert {p.name for p in RECIPES} >= {"facades.yaml", "facades_tf.yaml", "denoise.yaml", "facades-mini.yaml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_every_recipe_loads_and_round_trips(path: Path) -> None:
    """Each recipe validates, and its resolved dict loads back to an equal config (as config.yaml in a run)."""
    cfg = load_config(path)
    assert isinstance(cfg, RunConfig)
    assert load_config(None, to_dict(cfg)) == cfg


def test_paper_facades_recipe() -> None:
    """The paper's recipe: label→photo, unet_256, 70×70 PatchGAN, batch 1, 100 + 100 epochs, λ = 100, Adam 2e-4/0.5."""
    cfg = load_config(REPO / "configs/pix2pix/facades.yaml")
    m = cfg.method
    assert cfg.data.direction == "BtoA" and (cfg.data.load_size, cfg.data.crop_size) == (286, 256)
    assert m.generator.name == "unet_256" and m.generator.ngf == 64 and m.generator.norm == "batch"
    assert m.discriminator.n_layers == 3 and m.gan_mode == "vanilla" and m.lambda_l1 == 100
    assert (m.lr, m.beta1, m.beta2) == (2e-4, 0.5, 0.999)
    assert (cfg.train.batch_size, cfg.train.n_epochs, cfg.train.n_epochs_decay) == (1, 100, 100)
    assert cfg.train.best_metric is None  # the test split is monitored, never used for selection


def test_tensorflow_tutorial_recipe() -> None:
    """The TF tutorial: BatchNorm, 30×30 logits, 40k steps at constant LR, preview every 1k, checkpoint every 5k."""
    cfg = load_config(REPO / "configs/pix2pix/facades_tf.yaml")
    assert cfg.method.generator.norm == cfg.method.discriminator.norm == "batch"
    assert cfg.method.discriminator.n_layers == 3  # 70×70 patches, 30×30 logits at 256²
    assert cfg.train.max_steps == 40000 and cfg.train.n_epochs_decay == 0
    assert cfg.train.every("sample_every").n == 1000 and cfg.train.every("checkpoint_every").n == 5000
    assert cfg.data.resize_mode == "nearest"


def test_denoise_recipe() -> None:
    """Denoising: InstanceNorm U-Net, 16×16 PatchGAN, A/B folders, 8:2 holdout, batch 32, PSNR each epoch."""
    cfg = load_config(REPO / "configs/pix2pix/denoise.yaml")
    assert cfg.method.generator.norm == "instance" and cfg.method.discriminator.n_layers == 1
    assert cfg.data.layout == "folders" and cfg.data.val_split is None and cfg.data.holdout == 0.2
    assert cfg.train.batch_size == 32 and cfg.train.best_metric == "psnr"
    assert cfg.train.every("val_every").unit == "epoch" and cfg.data.preprocess == "crop"


def test_overrides_are_typed_by_the_schema() -> None:
    """Command-line values take the field's type: '001' stays a string path, '4' an int, 'null' None."""
    cfg = load_config(
        None,
        [
            "--data.root",
            "001",
            "--train.batch_size=4",
            "--data.val_split=null",
            "--method.lr=1e-4",
            "--data.flip=false",
            "--train.sample_every",
            "250 steps",
            "--method.generator.name=unet_128",
        ],
    )
    assert cfg.data.root == "001" and cfg.train.batch_size == 4 and cfg.data.val_split is None
    assert cfg.method.lr == 1e-4 and cfg.data.flip is False and cfg.train.every("sample_every").n == 250
    assert cfg.method.generator.num_downs == 7  # switching the variant takes that variant's defaults


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--train.batch_sise=4"], "unknown config key 'train.batch_sise' (did you mean 'train.batch_size'?)"),
        (["--method.generator.ngff=8"], "did you mean 'method.generator.ngf'?"),
        (["--dta.root=x"], "did you mean 'data'?"),
        (["--data.direction=AtoC"], "data.direction: 'AtoC' is not one of 'AtoB', 'BtoA'"),
        (["--train.batch_size=four"], "train.batch_size: expected an integer"),
        (["--method.generator.name=unet_265"], "did you mean 'unet_256'?"),
        (["--data.crop_size=300"], "load_size (286) must be at least crop_size (300)"),
        (["--train.val_every=often"], "expected e.g. '500 steps'"),
        (["--data.load_size=143", "--data.crop_size=128"], "data.crop_size (128) must be a multiple of 256"),
        (["--train.num_samples=-1"], "train.num_samples: must be >= 0"),
        (["--method.beta1=2"], "method.beta1: must be >= 0 and < 1, got 2"),
        (["--train.n_epochs=0", "--train.n_epochs_decay=0"], "train.n_epochs_decay: n_epochs + n_epochs_decay must"),
        (
            ["--method.name=ugatit", "--method.generator.name=unet_256"],
            "method.generator.name: U-GAT-IT trains the ugatit",
        ),
    ],
)
def test_mistakes_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, overrides)
    assert message in str(err.value)


def test_cadences() -> None:
    """Cadences read '500 steps', '2 epochs', a bare number (steps) or 'never'."""
    cfg = load_config(None, ["--train.log_every=50", "--train.val_every=2 epochs", "--train.keep_every=never"])
    assert (cfg.train.every("log_every").n, cfg.train.every("log_every").unit) == (50, "step")
    assert (cfg.train.every("val_every").n, cfg.train.every("val_every").unit) == (2, "epoch")
    assert not cfg.train.every("keep_every").due("step", 1000)


def test_recipe_file_errors(tmp_path: Path) -> None:
    """A missing file, bad YAML and a misspelled key in a file give one-line errors naming the file or key."""
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("data: [unclosed\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text("train:\n  n_epoch: 5\n")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad_yaml)
    with pytest.raises(ConfigError, match=r"'train.n_epoch' \(did you mean 'train.n_epochs'\?\)"):
        load_config(typo)


def test_cli_help_lists_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    """`i2i train --help` lists every config option with the recipe's value as default."""
    assert main(["train", "--config", str(REPO / "configs/pix2pix/facades.yaml"), "--help"]) == 0
    out = capsys.readouterr().out
    cfg = load_config(REPO / "configs/pix2pix/facades.yaml")
    for name, _, value, _ in describe_options(cfg):
        assert f"--{name}" in out and f"default: {value}" in out
    assert "default: unet_256" in out and "default: BtoA" in out


def test_cli_wrong_key_is_one_line_with_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--train.batch_sise=4"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "i2i: error: unknown config key 'train.batch_sise' (did you mean 'train.batch_size'?)"


def test_network_options_without_a_name_keep_the_methods_network() -> None:
    """`--method.name=cyclegan --method.generator.ngf=32` trains CycleGAN's ResNet with 32 filters, not a U-Net."""
    cfg = load_config(None, {"method": {"name": "cyclegan", "generator": {"ngf": 32}, "discriminator": {"ndf": 16}}})
    assert (cfg.method.generator.name, cfg.method.generator.ngf) == ("resnet_9blocks", 32)
    assert cfg.method.discriminator.ndf == 16
    assert load_config(None, {"method": {"generator": {"ngf": 8}}}).method.generator.name == "unet_256"
