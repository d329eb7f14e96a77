// A recording's waveform on a canvas, tied to an <audio> element: the played part coloured, a playhead, click or
// arrow keys to seek (the canvas is a keyboard-usable slider). Peaks come from the browser's own decoder.
import { clock } from "./ui.js";

const PEAK_BUCKETS = 2000; // min/max pairs kept per recording, whatever its length
const DECODE_RATE = 8000; // decoding at a low rate keeps an hour of audio to ~115 MB per channel
export const MAX_DECODE_BYTES = 200 << 20; // larger files get no waveform (decoding would exhaust the tab)
const STEP_S = 1;
const BIG_STEP_S = 10;

/** Decode ``blob`` in the browser: {duration, peaks: Float32Array of PEAK_BUCKETS (min, max) pairs}. Rejects when
 * the browser cannot decode it (the server may still can: it decodes more formats). */
export async function decodePeaks(blob) {
  if (blob.size > MAX_DECODE_BYTES) throw new Error("too large to draw");
  const context = new OfflineAudioContext(1, 1, DECODE_RATE);
  const buffer = await context.decodeAudioData(await blob.arrayBuffer());
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, i) => buffer.getChannelData(i));
  const peaks = new Float32Array(PEAK_BUCKETS * 2);
  const per = buffer.length / PEAK_BUCKETS;
  for (let bucket = 0; bucket < PEAK_BUCKETS; bucket++) {
    let low = 0;
    let high = 0;
    const end = Math.min(buffer.length, Math.ceil((bucket + 1) * per));
    for (let i = Math.floor(bucket * per); i < end; i++) {
      let sample = 0;
      for (const channel of channels) sample += channel[i];
      sample /= channels.length;
      if (sample < low) low = sample;
      if (sample > high) high = sample;
    }
    peaks[bucket * 2] = low;
    peaks[bucket * 2 + 1] = high;
  }
  return { duration: buffer.duration, peaks };
}

/** A waveform canvas for ``audio``: ``waveform(audio, peaks, label)`` → {node, draw(), destroy()}; ``peaks`` from
 * decodePeaks (or null: a flat line, the playhead still works). */
export function waveform(audio, peaks, label) {
  const canvas = document.createElement("canvas");
  canvas.className = "waveform";
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "slider");
  canvas.setAttribute("aria-label", label);
  canvas.setAttribute("aria-valuemin", "0");
  let frame = 0;
  const loudest = peaks ? Math.max(0.01, ...peaks.peaks.map(Math.abs)) : 1;
  const duration = () => {
    if (Number.isFinite(audio.duration) && audio.duration > 0) return audio.duration;
    return (peaks && peaks.duration) || 0;
  };

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const g = canvas.getContext("2d");
    const styles = getComputedStyle(document.documentElement);
    const played = styles.getPropertyValue("--accent").trim() || "#0b5cad";
    const rest = styles.getPropertyValue("--muted").trim() || "#4f5b6b";
    const total = duration();
    const head = total ? Math.min(1, audio.currentTime / total) * width : 0;
    g.clearRect(0, 0, width, height);
    const middle = height / 2;
    const scale = middle / loudest; // quiet recordings drawn as tall as loud ones
    for (let x = 0; x < width; x++) {
      let low = 0;
      let high = 0;
      if (peaks) {
        const buckets = peaks.peaks.length / 2;
        const first = Math.floor((x / width) * buckets);
        const last = Math.max(first + 1, Math.floor(((x + 1) / width) * buckets));
        for (let b = first; b < last && b < buckets; b++) {
          low = Math.min(low, peaks.peaks[b * 2]);
          high = Math.max(high, peaks.peaks[b * 2 + 1]);
        }
      }
      g.fillStyle = x < head ? played : rest;
      g.fillRect(x, middle - high * scale, 1, Math.max(ratio, (high - low) * scale));
    }
    g.fillStyle = "#d6a500";
    g.fillRect(Math.min(width - 2 * ratio, head), 0, 2 * ratio, height);
    canvas.setAttribute("aria-valuemax", total.toFixed(1));
    canvas.setAttribute("aria-valuenow", audio.currentTime.toFixed(1));
    canvas.setAttribute("aria-valuetext", `${clock(audio.currentTime)} / ${clock(total)}`);
  }

  function animate() {
    draw();
    frame = audio.paused ? 0 : requestAnimationFrame(animate);
  }

  function seek(seconds) {
    const total = duration();
    audio.currentTime = Math.max(0, total ? Math.min(total, seconds) : seconds);
    draw();
  }

  canvas.addEventListener("click", (event) => {
    const box = canvas.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * duration());
  });
  canvas.addEventListener("keydown", (event) => {
    const steps = {
      ArrowLeft: -STEP_S, ArrowDown: -STEP_S, ArrowRight: STEP_S, ArrowUp: STEP_S,
      PageDown: -BIG_STEP_S, PageUp: BIG_STEP_S,
    };
    if (event.key in steps) seek(audio.currentTime + steps[event.key] * (event.shiftKey ? 5 : 1));
    else if (event.key === "Home") seek(0);
    else if (event.key === "End") seek(duration());
    else return;
    event.preventDefault();
  });
  const onPlay = () => {
    if (!frame) frame = requestAnimationFrame(animate);
  };
  for (const name of ["timeupdate", "seeked", "loadedmetadata", "pause"]) audio.addEventListener(name, draw);
  audio.addEventListener("play", onPlay);
  const resize = new ResizeObserver(() => draw());
  resize.observe(canvas);

  return {
    node: canvas,
    draw,
    destroy() {
      cancelAnimationFrame(frame);
      resize.disconnect();
      for (const name of ["timeupdate", "seeked", "loadedmetadata", "pause"]) audio.removeEventListener(name, draw);
      audio.removeEventListener("play", onPlay);
    },
  };
}
