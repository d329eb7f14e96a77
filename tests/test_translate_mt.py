"""The operator MT-model backend: a CTranslate2 model directory with SentencePiece tokenizers. No real MT model
installs here, so the test builds a tiny random one itself (CTranslate2's spec API + a SentencePiece model
trained on a few lines): it checks loading, batching, dispatch by direction and the clear errors — not quality."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shenggu.config import get_settings
from shenggu.errors import ModelError
from shenggu.translate.llm_engine import LlmTranslator
from shenggu.translate.mt_model import MtModelTranslator, find_layout
from shenggu.translate.pipeline import translate
from shenggu.translate.registry import EngineByDirection

CORPUS = [
    "会议下午三点开始。", "请到三号窗口办理。", "我们明天见。", "医生说每天吃两次药。", "今天天气很好。",
    "the meeting starts at three", "please go to window three", "see you tomorrow", "take the medicine twice a day",
]  # fmt: skip


def _tiny_ct2_model(directory, vocabulary: list[str], width: int = 16) -> None:
    from ctranslate2 import specs

    rng = np.random.default_rng(0)
    spec = specs.TransformerSpec.from_config(num_layers=1, num_heads=2)
    shapes = {
        "embeddings_0/weight": (len(vocabulary), width), "embeddings/weight": (len(vocabulary), width),
        "projection/weight": (len(vocabulary), width), "gamma": (width,), "beta": (width,),
        "self_attention/linear_0/weight": (3 * width, width), "self_attention/linear_1/weight": (width, width),
        "attention/linear_0/weight": (width, width), "attention/linear_1/weight": (2 * width, width),
        "attention/linear_2/weight": (width, width),
        "ffn/linear_0/weight": (2 * width, width), "ffn/linear_1/weight": (width, 2 * width),
    }  # fmt: skip
    try:
        spec.validate()
    except ValueError as missing:
        names = [line.strip() for line in str(missing).splitlines() if "/" in line]
    for name in names:
        shape = next(shape for suffix, shape in shapes.items() if name.endswith(suffix))
        value = np.ones(shape, np.float32) if name.endswith("gamma") else rng.normal(0, 0.1, shape).astype(np.float32)
        node = spec
        *path, leaf = name.split("/")
        for part in path:  # "layer_0" is item 0 of the list attribute "layer"
            prefix, _, index = part.rpartition("_")
            node = getattr(node, part) if hasattr(node, part) else getattr(node, prefix)[int(index)]
        setattr(node, leaf, value)
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.save(str(directory))


@pytest.fixture(scope="module")
def argos_package(tmp_path_factory):
    import sentencepiece

    root = tmp_path_factory.mktemp("zh_en")
    text = root / "corpus.txt"
    text.write_text("\n".join(CORPUS * 5), encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(root / "sentencepiece"), vocab_size=60, character_coverage=1.0,
        hard_vocab_limit=False, minloglevel=2,
    )  # fmt: skip
    processor = sentencepiece.SentencePieceProcessor(model_file=str(root / "sentencepiece.model"))
    vocabulary = ["<blank>", "<s>", "</s>"] + [processor.id_to_piece(i) for i in range(3, processor.get_piece_size())]
    (root / "model").mkdir()
    _tiny_ct2_model(root / "model", vocabulary)
    (root / "metadata.json").write_text(json.dumps({"from_code": "zh", "to_code": "en"}))
    return root


def test_an_argos_style_directory_loads_and_drafts_every_sentence(argos_package):
    engine = MtModelTranslator(argos_package, "zh-en", get_settings().threads)
    drafts = engine.draft(["会议下午三点开始。", "我们明天见。"], "zh-en", {}, "t")
    assert len(drafts) == 2 and all(isinstance(d, str) for d in drafts)
    # A random model keeps no facts: the pipeline flags the sentence with the number, naming the engine.
    engines = EngineByDirection(LlmTranslator(get_settings()), {"zh-en": engine})
    result = translate("会议下午3点开始。", "zh-en", engines)
    sentence = result.sentences[0]
    assert sentence.engine == f"mt:{argos_package.name}"
    assert sentence.needs_review and sentence.problems


def test_wrong_or_missing_directories_are_clear_model_errors(argos_package, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        MtModelTranslator(tmp_path / "nowhere", "zh-en", get_settings().threads)
    with pytest.raises(ModelError, match="not a CTranslate2 model directory"):
        find_layout(tmp_path, "zh-en")
    with pytest.raises(ModelError, match="translates zh-en, not en-zh"):
        find_layout(argos_package, "en-zh")
    no_tokenizer = tmp_path / "no_spm"
    (no_tokenizer / "model").mkdir(parents=True)
    (no_tokenizer / "model" / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="SentencePiece"):
        find_layout(no_tokenizer, "zh-en")
    (no_tokenizer / "sentencepiece.model").write_bytes(b"not a model")
    broken = MtModelTranslator(no_tokenizer, "zh-en", get_settings().threads)
    with pytest.raises(ModelError, match="cannot load the MT model"):
        broken.draft(["你好。"], "zh-en", {}, "t")
