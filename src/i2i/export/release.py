"""Release folders: ``config.json`` (architecture + preprocessing) and ``model.safetensors`` (generator weights).

A release holds only what translation needs: no optimizer state, no discriminator, nothing pickled. Any model path
a user gives the CLI (release folder, run folder, checkpoint file) is opened by ``load_translator``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_bytes

from i2i import __version__
from i2i.config import to_dict
from i2i.data.io import atomic_write
from i2i.errors import I2IError
from i2i.inference.translator import (
    RELEASE_CONFIG,
    RELEASE_FORMAT,
    RELEASE_VERSION,
    RELEASE_WEIGHTS,
    Translator,
    preprocessing_dict,
)
from i2i.training.checkpoint import generator_from_checkpoint, generators_from_checkpoint, resolve_checkpoint

REVERSE_WEIGHTS = "model_reverse.safetensors"


def export_release(source: str | Path, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Writes the translation generator of a run (best.pt, else last.pt) or checkpoint file as a release folder.

    Methods that learn both directions (CycleGAN, U-GAT-IT) also ship the reverse generator, in
    ``model_reverse.safetensors`` with its own preprocessing under ``"reverse"`` in config.json.
    """
    ckpt = resolve_checkpoint(source)
    out_dir = Path(out_dir)
    if (out_dir / RELEASE_WEIGHTS).exists() and not overwrite:
        raise I2IError(f"{out_dir} already holds a release; pass --overwrite to replace it")
    generators = list(generators_from_checkpoint(ckpt).values())
    gen = generators[0]
    cfg = gen.run_config
    meta = {
        "format": RELEASE_FORMAT,
        "version": RELEASE_VERSION,
        "i2i_version": __version__,
        "method": cfg.method.name,
        "generator": to_dict(gen.config),
        "preprocessing": preprocessing_dict(gen.preprocessing),
        "source": {"run": cfg.name, "checkpoint": ckpt.name, "step": gen.step, "dataset": cfg.data.root},
    }
    files = {RELEASE_WEIGHTS: _weights_bytes(gen.network)}
    for reverse in generators[1:]:
        meta["reverse"] = {"weights": REVERSE_WEIGHTS, "preprocessing": preprocessing_dict(reverse.preprocessing)}
        files[REVERSE_WEIGHTS] = _weights_bytes(reverse.network)
    for name, data in files.items():
        atomic_write(out_dir / name, data, durable=True)
    atomic_write(out_dir / RELEASE_CONFIG, (json.dumps(meta, indent=2) + "\n").encode("utf-8"), durable=True)
    atomic_write(out_dir / "README.md", _model_card(meta).encode("utf-8"))
    return out_dir


def _weights_bytes(net: torch.nn.Module) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    return safetensors_bytes(state, metadata={"format": "pt", "i2i_release": str(RELEASE_VERSION)})


def load_translator(path: str | Path, device: str = "auto", direction: str | None = None) -> Translator:
    """Opens a release folder, a run folder (best.pt, else last.pt) or a training checkpoint file.

    ``direction`` ("AtoB"/"BtoA") picks the generator of models that learn both; None: the trained direction.
    """
    path = Path(path)
    if (path / RELEASE_CONFIG).is_file():
        return Translator.from_pretrained(path, device, direction)
    gen = generator_from_checkpoint(resolve_checkpoint(path), direction)
    return Translator(gen.network, gen.config, gen.preprocessing, device)


def _model_card(meta: dict) -> str:
    pre, gen, src = meta["preprocessing"], meta["generator"], meta["source"]
    reverse = ""
    if "reverse" in meta:
        back = meta["reverse"]["preprocessing"]["direction"]
        reverse = (
            f"\n- also translates {back} (`{REVERSE_WEIGHTS}`): "
            f"`i2i translate THIS_FOLDER in/ --out out/ --direction {back}`"
        )
    return f"""# i2i release: {src["run"]}

- method: {meta["method"]}; generator: {gen["name"]} ({", ".join(f"{k}={v}" for k, v in gen.items() if k != "name")})
- input: {pre["input_channels"]} channel(s), output: {pre["output_channels"]} channel(s), direction {pre["direction"]}
- trained on `{src["dataset"]}` for {src["step"]} steps (checkpoint `{src["checkpoint"]}`){reverse}

Use it:

```
i2i translate THIS_FOLDER inputs/ --out outputs/
```

```python
from i2i import Translator
from i2i.data.io import read_image
translator = Translator.from_pretrained("THIS_FOLDER")
output = translator([read_image("input.png", channels={pre["input_channels"]})])[0]
```
"""
