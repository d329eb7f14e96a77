"""The streaming session on real audio: speculative finals are reused, partials never block, state stays small."""

from __future__ import annotations

import time

import numpy as np

from shenggu.asr.slots import DecodeSlots
from shenggu.asr.streaming import Final, Partial, Shedding, StreamingSession, StreamOptions
from shenggu.audio import decode_audio


class CountingRecognizer:
    """The real engine, recording the length of audio of each final-quality (beam search) decode."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.workers = inner, inner.name, inner.workers
        self.final_decodes: list[float] = []

    busy = property(lambda self: self.inner.busy)
    idle = property(lambda self: self.inner.idle)

    def detect_language(self, audio):
        return self.inner.detect_language(audio)

    def decode_chunks(self, chunks, options):
        if options.beam_size > 1:
            self.final_decodes.append(len(chunks[0]) / 16000)
        return self.inner.decode_chunks(chunks, options)


def feed(session: StreamingSession, audio: np.ndarray, realtime: bool = False) -> list:
    """Feed 100 ms pieces (at a microphone's pace with ``realtime``), then finish."""
    start, events = time.monotonic(), []
    for i in range(0, len(audio), 1600):
        if realtime:
            time.sleep(max(0.0, start + i / 16000 - time.monotonic()))
        events += session.accept(audio[i : i + 1600])
    return events + session.finish()


def sentence(data_dir) -> np.ndarray:
    clip = decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav")
    return np.concatenate([clip, np.zeros(16000, np.float32)])


def test_the_speculative_decode_becomes_the_final(data_dir, recognizer):
    options = StreamOptions(language="zh", partial_interval_s=1e9)
    # Warm up first: when this test runs alone, a cold model's first speculative decode runs long and shifts when
    # the next one starts, which is what is measured below.
    feed(StreamingSession(recognizer, options), sentence(data_dir))
    counting = CountingRecognizer(recognizer)
    events = feed(StreamingSession(counting, options), sentence(data_dir), realtime=True)
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1 and "协会分析" in finals[0].segment.text

    without = CountingRecognizer(recognizer)
    plain = feed(StreamingSession(without, StreamOptions(language="zh", speculate_ms=0, partial_interval_s=1e9)),
                 sentence(data_dir))  # fmt: skip
    assert [e.segment.text for e in plain if isinstance(e, Final)] == [finals[0].segment.text]
    # Without speculation the closed sentence (with its 300 ms post-roll) is decoded once, after the endpoint.
    # With it, that window is never decoded: the final is the beam search started 100 ms into the pause (earlier
    # ones, in pauses after which speech resumed, became partials).
    (closed_window,) = without.final_decodes
    assert counting.final_decodes and all(abs(d - closed_window) > 0.1 for d in counting.final_decodes)


def test_partials_come_from_background_work(data_dir, recognizer):
    audio = sentence(data_dir)
    session = StreamingSession(recognizer, StreamOptions(language="zh", partial_interval_s=0.0, partial_min_new_s=0.3))
    partials = []
    for i in range(0, len(audio), 1600):
        partials += [e for e in session.accept(audio[i : i + 1600]) if isinstance(e, Partial)]
        if session._partial is not None:  # let the background partial finish, as real-time pacing would
            session._partial.future.result()
    assert partials and all(p.text and p.start >= 0 for p in partials)


def test_decode_slots_report_busy_and_idle():
    slots = DecodeSlots(2)
    assert slots.idle and not slots.busy
    with slots.hold():
        assert not slots.idle and not slots.busy
        with slots.hold():
            assert slots.busy
    assert slots.idle


def test_an_urgent_call_takes_the_next_free_slot_before_waiting_ones():
    import threading

    slots = DecodeSlots(1)
    order: list[str] = []

    def call(name: str, urgent: bool) -> None:
        with slots.hold(urgent):
            order.append(name)

    with slots.hold():  # a file's window decoding
        waiting = [threading.Thread(target=call, args=(f"file {i}", False)) for i in range(2)]
        for thread in waiting:
            thread.start()
        time.sleep(0.2)  # the file's next windows wait first
        final = threading.Thread(target=call, args=("final", True))
        final.start()
        time.sleep(0.2)
    for thread in [*waiting, final]:
        thread.join(timeout=5)
    assert order[0] == "final" and sorted(order[1:]) == ["file 0", "file 1"]

    two = DecodeSlots(2)  # a free slot is taken at once, urgent or not, and none is left idle
    with two.hold(urgent=True), two.hold():
        assert two.busy


class BeamRecorder(CountingRecognizer):
    """The real engine, recording the beam width of every decode."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.beams: list[int] = []
        self.urgent: list[bool] = []

    def decode_chunks(self, chunks, options):
        self.beams.append(options.beam_size)
        self.urgent.append(options.urgent)
        return super().decode_chunks(chunks, options)


def test_shedding_order_narrows_the_beam_last():
    shedding = Shedding()
    assert shedding.partials_s < shedding.speculation_s < shedding.narrow_beam_s < shedding.greedy_s
    assert [shedding.beam_size(lag, 5) for lag in (0.0, 1.0, 1.5, 2.9, 3.0, 60.0)] == [5, 5, 2, 2, 1, 1]
    assert shedding.beam_size(2.0, 1) == 1  # never wider than asked


def test_a_stream_behind_sheds_partials_and_speculation_but_keeps_its_finals(data_dir, recognizer):
    audio = sentence(data_dir)
    options = StreamOptions(language="zh", partial_interval_s=0.0, partial_min_new_s=0.1)
    on_time = feed(StreamingSession(recognizer, options), audio)
    expected = [e.segment.text for e in on_time if isinstance(e, Final)]

    recorder = BeamRecorder(recognizer)
    session = StreamingSession(recorder, options)
    session.decode_speed = 0.0  # a machine fast enough that the final's own decode adds nothing to the lag
    events = []
    for i in range(0, len(audio), 1600):
        events += session.accept(audio[i : i + 1600], backlog_s=1.0)  # behind: past partials and speculation
        for preview in (session._partial, session._speculation):
            assert preview is None  # nothing optional was started
    events += session.finish()
    finals = [e for e in events if isinstance(e, Final)]
    assert not [e for e in events if isinstance(e, Partial)]
    assert [f.segment.text for f in finals] == expected and recorder.beams == [5]  # the final, at full width
    timing = finals[0].timing
    assert timing.backlog == 1.0 and not timing.speculative and not timing.narrowed and timing.decode > 0
    assert timing.encode > 0 and timing.generate > 0 and timing.queue >= 0


def test_a_stream_far_behind_decodes_finals_with_a_narrower_beam(data_dir, recognizer):
    audio = sentence(data_dir)
    for backlog, beam in ((2.0, 2), (4.0, 1)):
        recorder = BeamRecorder(recognizer)
        session = StreamingSession(recorder, StreamOptions(language="zh"))
        session.decode_speed = 0.0
        events = [e for i in range(0, len(audio), 1600) for e in session.accept(audio[i : i + 1600], backlog)]
        finals = [e for e in events + session.finish() if isinstance(e, Final)]
        assert finals and "协会" in "".join(f.segment.text for f in finals)
        assert recorder.beams == [beam] and all(f.timing.narrowed and f.timing.beam_size == beam for f in finals)
        assert recorder.urgent == [True]  # a live final goes before a file's waiting windows


class SharedBeamRecorder(BeamRecorder):
    """A ``BeamRecorder`` whose engine other streams keep busy: it is never idle."""

    idle = property(lambda self: False)


def test_a_final_that_would_cost_seconds_is_decoded_narrower_before_it_does(data_dir, recognizer):
    audio = sentence(data_dir)  # a ~4 s sentence
    alone = BeamRecorder(recognizer)
    session = StreamingSession(alone, StreamOptions(language="zh", speculate_ms=0, partial_interval_s=1e9))
    session.decode_speed = 1.0
    feed(session, audio)
    assert alone.beams == [5]  # on an idle engine a final costs what it costs and delays no one
    beams = {}
    for speed in (0.1, 0.5, 1.0):  # seconds of decode per second of sentence, as the stream measured them
        recorder = SharedBeamRecorder(recognizer)
        session = StreamingSession(recorder, StreamOptions(language="zh", speculate_ms=0, partial_interval_s=1e9))
        session.decode_speed = speed
        feed(session, audio)
        beams[speed] = recorder.beams
        assert session.decode_speed != speed or recorder.beams != [5]  # a full-beam decode updates the estimate
    assert beams == {0.1: [5], 0.5: [2], 1.0: [1]}


def test_finals_say_where_their_time_went(data_dir, recognizer):
    session = StreamingSession(recognizer, StreamOptions(language="zh", partial_interval_s=1e9))
    events = feed(session, sentence(data_dir))
    (final,) = [e for e in events if isinstance(e, Final)]
    timing = final.timing.to_dict()
    assert set(timing) >= {"endpoint", "backlog", "decode", "queue", "encode", "generate", "refine", "beam_size"}
    # the endpoint waited for the stream's end-of-sentence silence (400 ms) unless the stream ended first
    assert 0 <= timing["endpoint"] <= 1000 and timing["backlog"] == 0
