// The microphone for every page that listens (console Live and Assess, the assistant kiosk): capture with
// getUserMedia, resample to 16 kHz mono, hand out fixed-size frames (Float32, or PCM16 via toPcm16) with a level
// meter value, or record until stopped into a 16 kHz WAV Blob.
//
//   import { openMicrophone, recordWav, toPcm16, MicrophoneError } from "./microphone.js";
//
//   // Streaming: 100 ms frames of 16 kHz samples (Float32Array, -1..1) as they are captured.
//   const mic = await openMicrophone({ onFrame(frame, level) { socket.send(toPcm16(frame).buffer); } });
//   mic.level;                 // peak of the latest input, 0..1 (for a level meter)
//   mic.seconds;               // 16 kHz audio handed out so far
//   mic.stop({ flush: true }); // release the device; flush: hand out the last, shorter frame first
//
//   // Recording: a WAV (16 kHz, mono, 16-bit) of everything from now until stop() (or maxSeconds).
//   const recording = await recordWav({ maxSeconds: 60, onLevel(level) { meter.value = level; } });
//   const wav = await recording.stop();   // Blob "audio/wav"; recording.finished resolves to the same Blob
//   recording.cancel();                   // release the device, keep nothing (finished resolves to null)
//
// Both reject with a MicrophoneError whose ``code`` says why in words a page can translate: "unsupported" (no
// microphone API: the page needs https or localhost), "denied" (the user or the browser refused), "not_found"
// (no microphone), "busy" (another program holds it), "failed" (anything else; ``message`` has the detail).
// Call them from a user gesture (a click): browsers start audio only then.

export const SAMPLE_RATE = 16000;
export const FRAME_SAMPLES = 1600; // 100 ms at 16 kHz
const WORKLET_URL = new URL("./microphone-worklet.js", import.meta.url);
const SCRIPT_PROCESSOR_BLOCK = 4096;
// Speech-friendly browser processing by default; a caller may switch any of it off (e.g. for pronunciation).
const DEFAULT_CONSTRAINTS = { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Why the microphone could not be used: ``code`` is one of unsupported, denied, not_found, busy, failed. */
export class MicrophoneError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "MicrophoneError";
    this.code = code;
  }
}

function deviceError(error) {
  const codes = {
    NotAllowedError: "denied", SecurityError: "denied", NotFoundError: "not_found", OverconstrainedError: "not_found",
    NotReadableError: "busy", AbortError: "busy",
  };
  return new MicrophoneError(codes[error && error.name] || "failed", (error && error.message) || String(error));
}

// Box-filter decimation to 16 kHz: each output sample averages the input samples it covers (a low-pass good
// enough for speech recognition), with the fractional position carried between calls.
class Downsampler {
  constructor(inputRate) {
    this.ratio = inputRate / SAMPLE_RATE;
    this.rest = new Float32Array(0);
    this.position = 0;
  }

  push(input) {
    const data = new Float32Array(this.rest.length + input.length);
    data.set(this.rest);
    data.set(input, this.rest.length);
    const out = [];
    let position = this.position;
    while (position + this.ratio <= data.length) {
      const first = Math.floor(position);
      const last = Math.max(first + 1, Math.floor(position + this.ratio));
      let sum = 0;
      for (let i = first; i < last; i++) sum += data[i];
      out.push(sum / (last - first));
      position += this.ratio;
    }
    const keep = Math.floor(position);
    this.rest = data.slice(keep);
    this.position = position - keep;
    return Float32Array.from(out);
  }
}

/** Float samples (-1..1) as 16-bit PCM (little-endian on every platform browsers run on). */
export function toPcm16(samples) {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    pcm[i] = s < 0 ? s * 32768 : s * 32767;
  }
  return pcm;
}

/** Float samples as a mono 16-bit WAV Blob (``audio/wav``). */
export function encodeWav(samples, sampleRate = SAMPLE_RATE) {
  const pcm = toPcm16(samples);
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, value) => [...value].forEach((ch, i) => header.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + pcm.byteLength, true);
  text(8, "WAVE");
  text(12, "fmt ");
  header.setUint32(16, 16, true); // PCM format chunk size
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, 1, true); // mono
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * 2, true); // bytes per second
  header.setUint16(32, 2, true); // bytes per frame
  header.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  header.setUint32(40, pcm.byteLength, true);
  return new Blob([header.buffer, pcm.buffer], { type: "audio/wav" });
}

/** A microphone being captured (made by openMicrophone). */
class Microphone {
  constructor(stream, context, onFrame, frameSamples) {
    this.stream = stream;
    this.context = context;
    this.onFrame = onFrame;
    this.frameSamples = frameSamples;
    this.inputRate = context.sampleRate;
    this.sampleRate = SAMPLE_RATE;
    this.level = 0;
    this.seconds = 0;
    this.closed = false;
    this.peak = 0; // since the last frame handed out
    this.downsampler = new Downsampler(context.sampleRate);
    this.pending = new Float32Array(0);
    this.node = null;
  }

  captured(samples) {
    if (this.closed) return;
    let level = 0;
    for (let i = 0; i < samples.length; i++) level = Math.max(level, Math.abs(samples[i]));
    this.level = level;
    this.peak = Math.max(this.peak, level);
    const down = this.downsampler.push(samples);
    const joined = new Float32Array(this.pending.length + down.length);
    joined.set(this.pending);
    joined.set(down, this.pending.length);
    const whole = joined.length - (joined.length % this.frameSamples);
    this.pending = joined.slice(whole);
    // A frame's receiver may stop the microphone: nothing is handed out after that.
    for (let offset = 0; offset < whole && !this.closed; offset += this.frameSamples) {
      this.hand(joined.slice(offset, offset + this.frameSamples));
    }
  }

  hand(frame) {
    this.seconds += frame.length / SAMPLE_RATE;
    const peak = this.peak;
    this.peak = 0;
    if (this.onFrame) this.onFrame(frame, peak);
  }

  /** Release the device. ``flush``: first hand out what is left of the last frame (shorter than the others). */
  stop({ flush = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    const rest = this.pending;
    this.pending = new Float32Array(0);
    if (flush && rest.length) this.hand(rest);
    this.level = 0;
    if (this.node && this.node.port) this.node.port.onmessage = null;
    this.stream.getTracks().forEach((track) => track.stop());
    this.context.close().catch(() => {});
  }
}

/** Start capturing. ``onFrame(frame, level)`` gets each ``frameSamples`` (default 1600: 100 ms) of 16 kHz mono
 * Float32 audio and the input's peak level (0..1) over it; ``constraints`` adjust getUserMedia's audio options.
 * Resolves to the Microphone ({level, seconds, sampleRate, inputRate, stop({flush})}); rejects with a
 * MicrophoneError. */
export async function openMicrophone({ onFrame = null, frameSamples = FRAME_SAMPLES, constraints = {} } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new MicrophoneError("unsupported", "this page cannot use a microphone (it needs https or localhost)");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { ...DEFAULT_CONSTRAINTS, ...constraints } });
  } catch (error) {
    throw deviceError(error);
  }
  const context = new AudioContext();
  const mic = new Microphone(stream, context, onFrame, frameSamples);
  try {
    const source = context.createMediaStreamSource(stream);
    const mute = context.createGain();
    mute.gain.value = 0; // the capture node must be pulled by the destination, but nothing is heard
    if (context.audioWorklet) {
      await context.audioWorklet.addModule(WORKLET_URL);
      mic.node = new AudioWorkletNode(context, "shenggu-capture");
      mic.node.port.onmessage = (message) => mic.captured(message.data);
    } else {
      // Older browsers: the deprecated ScriptProcessor does the same on the main thread.
      mic.node = context.createScriptProcessor(SCRIPT_PROCESSOR_BLOCK, 1, 1);
      mic.node.onaudioprocess = (event) => mic.captured(event.inputBuffer.getChannelData(0).slice(0));
    }
    source.connect(mic.node);
    mic.node.connect(mute);
    mute.connect(context.destination);
    await context.resume();
  } catch (error) {
    mic.stop();
    throw error instanceof MicrophoneError ? error : new MicrophoneError("failed", error.message || String(error));
  }
  return mic;
}

/** Record from now until ``stop()`` (or ``maxSeconds``): resolves, once the microphone is open, to a recording
 * {seconds, level, stop() → Promise<Blob>, finished: Promise<Blob|null>, cancel()}; the Blob is a 16 kHz mono
 * 16-bit WAV (``finished`` resolves to null when cancelled). ``onLevel(level)`` is called ten times a second
 * with the input's peak (0..1). */
export async function recordWav({ maxSeconds = 120, onLevel = null, constraints = {} } = {}) {
  const frames = [];
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  let wav = null;
  // flush: a stop by the caller keeps the audio captured since the last whole frame; at maxSeconds there is none.
  const complete = (flush) => {
    if (!wav && !mic.closed) {
      mic.stop({ flush }); // closed first, so the flushed frame cannot complete the recording twice
      const samples = new Float32Array(frames.reduce((total, frame) => total + frame.length, 0));
      let offset = 0;
      for (const frame of frames) {
        samples.set(frame, offset);
        offset += frame.length;
      }
      wav = encodeWav(samples);
      finish(wav);
    }
    return wav;
  };
  let mic = null;
  mic = await openMicrophone({
    constraints,
    onFrame(frame, level) {
      frames.push(frame);
      if (onLevel) onLevel(level);
      if (mic && mic.seconds >= maxSeconds) complete(false);
    },
  });
  return {
    get seconds() {
      return mic.seconds;
    },
    get level() {
      return mic.level;
    },
    finished,
    stop: async () => complete(true),
    cancel() {
      frames.length = 0;
      mic.stop();
      if (!wav) finish(null);
    },
  };
}
