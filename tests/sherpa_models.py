"""Tiny sherpa-onnx model directories in the real formats (SenseVoice, Paraformer), built with the ``onnx`` helpers.

Each holds ``model.int8.onnx`` and ``tokens.txt`` with the input and output names, shapes and metadata that
sherpa-onnx reads from the published models (``k2-fsa/sherpa-onnx`` scripts/sense-voice/export-onnx.py and
csrc/offline-{sense-voice,paraformer}-model.cc). The graphs are not trained: they say whether an utterance
carries a whistle at :data:`WHISTLE_HZ` (more power in its two mel bins than in the other 78 together): ``说``
for plain speech, ``哨`` for speech under a whistle of amplitude 0.05 (in a numpy fbank like sherpa-onnx's, that
share is under 0.15 on every bundled clip as recorded and over 3 with the whistle). So a test knows the exact
text and sees any mis-wiring (model kind, tokens, audio format, chunk order, language or ITN options) as wrong
text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPEECH, WHISTLE = "说", "哨"
WHISTLE_HZ = 6000.0
_WHISTLE_BINS = (71, 72)  # the 80 mel bins of 16 kHz audio centred nearest 6 kHz (5.9 and 6.1 kHz)
# SenseVoice's embedding ids of its query tokens (FunASR SenseVoiceSmall lid_dict / textnorm_dict).
SENSE_VOICE_IDS = {
    "lang_auto": 0,
    "lang_zh": 3,
    "lang_en": 4,
    "lang_yue": 7,
    "lang_ja": 11,
    "lang_ko": 12,
    "lang_nospeech": 13,
    "with_itn": 14,
    "without_itn": 15,
}
_SENSE_VOICE_TOKENS = [
    "<unk>",
    "<s>",
    "</s>",
    "<|zh|>",
    "<|en|>",
    "<|NEUTRAL|>",
    "<|Speech|>",
    "<|withitn|>",
    "<|woitn|>",
    SPEECH,
    WHISTLE,
    "▁speech",
    "▁whistle",
]
_PARAFORMER_TOKENS = ["<blank>", "<s>", "</s>", SPEECH, WHISTLE]
_MEL_BINS, _LFR_WINDOW, _LFR_SHIFT = 80, 7, 6
_FEATURE_DIM = _MEL_BINS * _LFR_WINDOW


def _cmvn_metadata() -> dict[str, str]:
    # Real models carry the training set's statistics; identity keeps the features as sherpa-onnx computes them.
    return {
        "lfr_window_size": str(_LFR_WINDOW),
        "lfr_window_shift": str(_LFR_SHIFT),
        "neg_mean": ",".join(["0"] * _FEATURE_DIM),
        "inv_stddev": ",".join(["1"] * _FEATURE_DIM),
    }


def _constants(**arrays: np.ndarray) -> list:
    from onnx import numpy_helper

    return [numpy_helper.from_array(np.asarray(value), name) for name, value in arrays.items()]


def _whistle_nodes(features: str) -> tuple[list, list]:
    """Nodes that compute ``whistled`` (N,) int64: 1 when the whistle's mel bins hold more of the utterance's power
    than all others together, else 0."""
    from onnx import helper

    split = np.zeros((_MEL_BINS, 2), np.float32)
    split[:, 0] = 1.0
    split[list(_WHISTLE_BINS)] = [0.0, 1.0]
    nodes = [
        # the oldest frame of each LFR stack: log-mel → power, summed over time, whistle bins apart
        helper.make_node("Slice", [features, "zero", "mel_bins", "axis_2"], ["mel"]),
        helper.make_node("Exp", ["mel"], ["power"]),
        helper.make_node("ReduceSum", ["power", "axis_1"], ["total"], keepdims=0),
        helper.make_node("MatMul", ["total", "split"], ["split_power"]),
        helper.make_node("ArgMax", ["split_power"], ["whistled"], axis=1, keepdims=0),
    ]
    constants = _constants(
        zero=np.array([0], np.int64),
        mel_bins=np.array([_MEL_BINS], np.int64),
        axis_1=np.array([1], np.int64),
        axis_2=np.array([2], np.int64),
        split=split,
    )
    return nodes, constants


def _one_hot_logits(ids: str, vocabulary: int) -> tuple[list, list]:
    """A node turning token ids into ``logits`` that put each id far ahead of the rest."""
    from onnx import helper

    node = helper.make_node("OneHot", [ids, "vocabulary", "off_on"], ["logits"], axis=-1)
    return [node], _constants(vocabulary=np.array(vocabulary, np.int64), off_on=np.array([-10.0, 10.0], np.float32))


def _save(
    directory: Path, name: str, graph_parts: tuple[list, list, list, list], metadata: dict[str, str], tokens: list[str]
) -> Path:
    """Write ``model.int8.onnx`` (nodes, constants, and inputs and outputs as (name, type, shape)) and
    ``tokens.txt``."""
    import onnx
    from onnx import helper

    nodes, constants, inputs, outputs = graph_parts
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(*spec) for spec in inputs],
        [helper.make_tensor_value_info(*spec) for spec in outputs],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by older onnxruntime builds too
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(directory / "model.int8.onnx"))
    (directory / "tokens.txt").write_text("".join(f"{t} {i}\n" for i, t in enumerate(tokens)), encoding="utf-8")
    return directory


def build_sense_voice(directory: Path) -> Path:
    """A SenseVoice CTC model directory. Logits (N, T+4, V): the four query frames (language, emotion, event,
    ITN) and then one word. With a language id it speaks that language's word (zh 说/哨, en speech/whistle);
    with ``lang_auto`` it detects zh for plain speech and en for whistled. Words come only with ITN on (shenggu
    asks for it), so a recognizer that drops ``use_itn`` reads nothing."""
    from onnx import TensorProto, helper

    whistle_nodes, whistle_constants = _whistle_nodes("x")
    token = {t: np.array(i, np.int64) for i, t in enumerate(_SENSE_VOICE_TOKENS)}
    nodes = [
        *whistle_nodes,
        helper.make_node("Cast", ["language"], ["language_64"], to=TensorProto.INT64),
        helper.make_node("Cast", ["text_norm"], ["text_norm_64"], to=TensorProto.INT64),
        helper.make_node("Equal", ["language_64", "lang_auto"], ["is_auto"]),
        helper.make_node("Equal", ["language_64", "lang_en"], ["is_en"]),
        helper.make_node("Where", ["is_en", "one", "zero_scalar"], ["asked"]),
        helper.make_node("Where", ["is_auto", "whistled", "asked"], ["is_english"]),  # 0 zh, 1 en
        helper.make_node("Add", ["is_english", "zh_tag"], ["language_token"]),
        helper.make_node("Equal", ["text_norm_64", "with_itn"], ["itn"]),
        helper.make_node("Where", ["itn", "withitn_tag", "woitn_tag"], ["itn_token"]),
        helper.make_node("Mul", ["is_english", "two"], ["word_row"]),
        helper.make_node("Add", ["word_row", "whistled"], ["word_offset"]),
        helper.make_node("Add", ["word_offset", "first_word"], ["word_token"]),
        helper.make_node("Where", ["itn", "word_token", "zero_scalar"], ["word"]),
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Slice", ["x_shape", "zero", "one_1d"], ["batch"]),
        helper.make_node("Concat", ["batch", "two_1d"], ["batch_by_2"], axis=0),
        helper.make_node("Expand", ["neutral_speech", "batch_by_2"], ["emotion_event"]),
        helper.make_node("Slice", ["x_shape", "zero", "two_1d"], ["batch_by_frames"]),
        helper.make_node("Sub", ["batch_by_frames", "one_frame"], ["batch_by_rest"]),
        helper.make_node(
            "ConstantOfShape",
            ["batch_by_rest"],
            ["blanks"],
            value=helper.make_tensor("blank", TensorProto.INT64, [1], [0]),
        ),
        helper.make_node("Unsqueeze", ["language_token", "one_1d"], ["col_language"]),
        helper.make_node("Unsqueeze", ["itn_token", "one_1d"], ["col_itn"]),
        helper.make_node("Unsqueeze", ["word", "one_1d"], ["col_word"]),
        helper.make_node("Concat", ["col_language", "emotion_event", "col_itn", "col_word", "blanks"], ["ids"], axis=1),
    ]
    logits_nodes, logits_constants = _one_hot_logits("ids", len(_SENSE_VOICE_TOKENS))
    constants = (
        whistle_constants
        + logits_constants
        + _constants(
            lang_auto=np.array(SENSE_VOICE_IDS["lang_auto"], np.int64),
            lang_en=np.array(SENSE_VOICE_IDS["lang_en"], np.int64),
            with_itn=np.array(SENSE_VOICE_IDS["with_itn"], np.int64),
            one=np.array(1, np.int64),
            two=np.array(2, np.int64),
            zero_scalar=np.array(0, np.int64),
            one_1d=np.array([1], np.int64),
            two_1d=np.array([2], np.int64),
            one_frame=np.array([0, 1], np.int64),
            zh_tag=token["<|zh|>"],
            withitn_tag=token["<|withitn|>"],
            woitn_tag=token["<|woitn|>"],
            first_word=token[SPEECH],
            neutral_speech=np.array([[token["<|NEUTRAL|>"], token["<|Speech|>"]]], np.int64),
        )
    )
    inputs = [
        ("x", TensorProto.FLOAT, ["N", "T", _FEATURE_DIM]),
        ("x_length", TensorProto.INT32, ["N"]),
        ("language", TensorProto.INT32, ["N"]),
        ("text_norm", TensorProto.INT32, ["N"]),
    ]
    outputs = [("logits", TensorProto.FLOAT, ["N", "T", len(_SENSE_VOICE_TOKENS)])]
    metadata = {
        **_cmvn_metadata(),
        "model_type": "sense_voice_ctc",
        "normalize_samples": "0",  # the published models compute features on 16-bit sample values
        "vocab_size": str(len(_SENSE_VOICE_TOKENS)),
        **{key: str(value) for key, value in SENSE_VOICE_IDS.items()},
    }
    graph_parts = (nodes + logits_nodes, constants, inputs, outputs)
    return _save(directory, "tiny_sense_voice", graph_parts, metadata, _SENSE_VOICE_TOKENS)


def build_paraformer(directory: Path) -> Path:
    """A Paraformer model directory. Logits (N, 2, V): the word (说/哨), then ``</s>``; ``token_num`` (N,)."""
    from onnx import TensorProto, helper

    whistle_nodes, whistle_constants = _whistle_nodes("speech")
    nodes = [
        *whistle_nodes,
        helper.make_node("Add", ["whistled", "first_word"], ["word"]),
        helper.make_node("Unsqueeze", ["word", "one_1d"], ["col_word"]),
        helper.make_node("Shape", ["col_word"], ["batch_by_1"]),
        helper.make_node("Expand", ["eos", "batch_by_1"], ["col_eos"]),
        helper.make_node("Concat", ["col_word", "col_eos"], ["ids"], axis=1),
        helper.make_node("Shape", ["word"], ["batch"]),
        helper.make_node("Expand", ["one_token", "batch"], ["token_num"]),
    ]
    logits_nodes, logits_constants = _one_hot_logits("ids", len(_PARAFORMER_TOKENS))
    constants = (
        whistle_constants
        + logits_constants
        + _constants(
            first_word=np.array(_PARAFORMER_TOKENS.index(SPEECH), np.int64),
            eos=np.array([[_PARAFORMER_TOKENS.index("</s>")]], np.int64),
            one_1d=np.array([1], np.int64),
            one_token=np.array([1], np.int32),
        )
    )
    inputs = [("speech", TensorProto.FLOAT, ["N", "T", _FEATURE_DIM]), ("speech_lengths", TensorProto.INT32, ["N"])]
    outputs = [
        ("logits", TensorProto.FLOAT, ["N", "U", len(_PARAFORMER_TOKENS)]),
        ("token_num", TensorProto.INT32, ["N"]),
    ]
    metadata = {**_cmvn_metadata(), "vocab_size": str(len(_PARAFORMER_TOKENS))}
    graph_parts = (nodes + logits_nodes, constants, inputs, outputs)
    return _save(directory, "tiny_paraformer", graph_parts, metadata, _PARAFORMER_TOKENS)
