"""Builds small but genuine ``.argosmodel`` packages with random weights.

Shared by the test fixture (a tiny model) and the benchmark (a model of
Argos's real size). Needs torch, transformers, sentencepiece and ctranslate2,
which the ``translation`` extra brings; nothing is downloaded.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

_LATIN_WORDS = (
    "the claimant respondent paid deposit refund seller buyer order parcel "
    "arrived broken agree offer accept reject amount euro dollar days late "
    "mediator session contract delivery receipt photo price we you they will "
    "not can should please thank yes no case number agreement signed"
).split()
_CJK_CHARS = (
    "我你他们的是不了在有这个退款押金卖家买家订单包裹收到损坏同意报价接受拒绝金额天合同"
)


@dataclass(frozen=True)
class ModelShape:
    """The size of the random Marian model."""

    vocab_size: int = 160
    d_model: int = 32
    layers: int = 1
    heads: int = 2
    ffn: int = 64
    # added to the end-of-sentence logit so random models stop early
    eos_bias: float = 0.0


TINY = ModelShape()


def synthetic_lines(count: int, seed: int = 7) -> list[str]:
    """Plausible chat-like lines mixing Latin words and Chinese characters."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words = rng.choices(_LATIN_WORDS, k=rng.randint(3, 12))
        cjk = "".join(rng.choices(_CJK_CHARS, k=rng.randint(2, 10)))
        lines.append(f"{' '.join(words).capitalize()}. {cjk}。")
    return lines


def _wide_lines(symbols: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = [chr(0x4E00 + i) for i in range(symbols)]
    rng.shuffle(alphabet)
    return ["".join(alphabet[i : i + 40]) for i in range(0, symbols, 40)]


def build_argosmodel(
    out_file: Path,
    from_code: str,
    to_code: str,
    *,
    shape: ModelShape = TINY,
    package_version: str = "1.0",
    seed: int = 0,
    lines: int = 400,
) -> Path:
    """Write a valid ``.argosmodel`` zip to ``out_file`` and return its path."""
    import ctranslate2
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel

    torch.manual_seed(seed)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="argos-build-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.txt"
        text = synthetic_lines(lines, seed=seed + 7)
        if shape.vocab_size > 1000:
            # a large vocabulary needs that many distinct symbols to learn
            text += _wide_lines(shape.vocab_size - 500, seed)
        corpus.write_text("\n".join(text), "utf-8")

        # 1. a SentencePiece model shared by source and target
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(work / "sp"),
            vocab_size=shape.vocab_size,
            hard_vocab_limit=False,
            character_coverage=1.0,
            eos_id=0,
            unk_id=1,
            bos_id=-1,
            pad_id=-1,
            minloglevel=2,
        )
        processor = spm.SentencePieceProcessor(model_file=str(work / "sp.model"))
        pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]

        # 2. vocab.json: CTranslate2's Marian loader drops a trailing <pad>
        vocab = {piece: i for i, piece in enumerate(pieces)}
        pad_id = len(pieces)
        vocab["<pad>"] = pad_id
        hf_dir = work / "hf"
        hf_dir.mkdir()
        (hf_dir / "vocab.json").write_text(json.dumps(vocab), "utf-8")
        shutil.copy(work / "sp.model", hf_dir / "source.spm")
        shutil.copy(work / "sp.model", hf_dir / "target.spm")

        # 3. a random Marian model of the requested shape
        config = MarianConfig(
            vocab_size=pad_id + 1,
            d_model=shape.d_model,
            encoder_layers=shape.layers,
            decoder_layers=shape.layers,
            encoder_attention_heads=shape.heads,
            decoder_attention_heads=shape.heads,
            encoder_ffn_dim=shape.ffn,
            decoder_ffn_dim=shape.ffn,
            max_position_embeddings=512,
            pad_token_id=pad_id,
            eos_token_id=0,
            decoder_start_token_id=pad_id,
            forced_eos_token_id=0,
        )
        model = MarianMTModel(config)
        if shape.eos_bias:
            with torch.no_grad():
                model.final_logits_bias[0, 0] += shape.eos_bias
        model.save_pretrained(hf_dir)
        (hf_dir / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "MarianTokenizer"}), "utf-8"
        )

        # 4. convert to CTranslate2 int8, then lay out the package
        package = work / f"translate-{from_code}_{to_code}"
        ctranslate2.converters.TransformersConverter(str(hf_dir)).convert(
            str(package / "model"), quantization="int8"
        )
        shutil.copy(work / "sp.model", package / "sentencepiece.model")
        metadata = {
            "package_version": package_version,
            "argos_version": "1.11",
            "from_code": from_code,
            "from_name": from_code.upper(),
            "to_code": to_code,
            "to_name": to_code.upper(),
            "type": "translate",
        }
        (package / "metadata.json").write_text(json.dumps(metadata), "utf-8")
        (package / "README.md").write_text("Random weights, for tests only.\n")

        # 5. zip with the package directory at the top level
        tmp_zip = out_file.with_suffix(".partial")
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(package.rglob("*")):
                archive.write(file, file.relative_to(work))
        tmp_zip.replace(out_file)
    return out_file


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.translation.model_builder OUT FROM TO [preset [seed]]``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    out, from_code, to_code = Path(args[0]), args[1], args[2]
    preset = args[3] if len(args) > 3 else "tiny"
    seed = int(args[4]) if len(args) > 4 else hash_seed(from_code, to_code)
    build_argosmodel(out, from_code, to_code, shape=PRESETS[preset], seed=seed)


def hash_seed(from_code: str, to_code: str) -> int:
    """A stable seed per pair, so rebuilt packages are identical in shape."""
    return sum(map(ord, from_code + to_code))


PRESETS = {
    "tiny": ModelShape(eos_bias=2.0),
    # Argos's real shape (argos-train config): 6+6 layers, d512, 8 heads, ffn 2048.
    # Random logits are nearly flat, so the end-of-sentence bias decides output
    # length; 1.68 (with seed 0) gives a mix of 1 to ~100 tokens per sentence.
    "argos": ModelShape(
        vocab_size=8000, d_model=512, layers=6, heads=8, ffn=2048, eos_bias=1.68
    ),
}


if __name__ == "__main__":
    main()
