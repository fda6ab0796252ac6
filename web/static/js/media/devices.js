// Camera and microphone: the person's saved choice (from the device check
// page), getUserMedia within the server's caps with graceful fallbacks, and a
// microphone level meter. No DOM here beyond what is passed in.

const STORAGE_KEY = "accord.media.devices";

/** True when this browser can take part in audio and video at all. */
export function mediaSupported() {
  return Boolean(window.RTCPeerConnection && navigator.mediaDevices?.getUserMedia);
}

/** The saved choice: {audio, video}, each a deviceId, "none" or undefined. */
export function savedDevices() {
  try {
    const value = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** Remember the choice for the room page. */
export function saveDevices(choice) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(choice));
  } catch {
    // private browsing without storage: the room page uses the defaults
  }
}

function withDevice(base, deviceId) {
  const caps = typeof base === "object" && base ? base : {};
  if (deviceId) return { ...caps, deviceId: { exact: deviceId } };
  return base ?? true;
}

/** getUserMedia constraints: the server's caps plus the saved devices. */
export function constraintsFor(config, choice = savedDevices()) {
  const caps = config?.constraints || { audio: true, video: true };
  return {
    audio: choice.audio === "none" ? false : withDevice(caps.audio, choice.audio),
    video: choice.video === "none" ? false : withDevice(caps.video, choice.video),
  };
}

function withoutDevice(constraint) {
  if (!constraint || constraint === true) return constraint;
  const { deviceId, ...rest } = constraint;
  return Object.keys(rest).length ? rest : true;
}

/**
 * The best the browser allows: camera and microphone, else the microphone
 * alone, else the camera alone, else nothing. A saved device that is gone is
 * replaced by any device. Resolves {stream, audio, video, error}; never rejects.
 */
export async function openDevices(constraints) {
  const loose = { audio: withoutDevice(constraints.audio), video: withoutDevice(constraints.video) };
  const attempts = [
    constraints,
    loose,
    { audio: loose.audio, video: false },
    { audio: false, video: loose.video },
  ];
  let error = null;
  const tried = new Set();
  for (const attempt of attempts) {
    const key = JSON.stringify(attempt);
    if ((!attempt.audio && !attempt.video) || tried.has(key)) continue;
    tried.add(key);
    try {
      const stream = await navigator.mediaDevices.getUserMedia(attempt);
      return {
        stream,
        audio: stream.getAudioTracks()[0] || null,
        video: stream.getVideoTracks()[0] || null,
        error,
      };
    } catch (failure) {
      error = failure;
      // refused by the person or the browser: asking again will not help
      if (failure?.name === "NotAllowedError" || failure?.name === "SecurityError") break;
    }
  }
  return { stream: null, audio: null, video: null, error };
}

/** Calls onLevel(0…1) about 20 times a second with a microphone track's level. */
export class LevelMeter {
  constructor(track, onLevel) {
    const Context = window.AudioContext || window.webkitAudioContext;
    this.context = new Context();
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 512;
    source.connect(this.analyser);
    const samples = new Float32Array(this.analyser.fftSize);
    this.timer = setInterval(() => {
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const value of samples) sum += value * value;
      const rms = Math.sqrt(sum / samples.length);
      // about -60 dBFS reads as silence, 0 dBFS as full scale
      const db = 20 * Math.log10(rms || 1e-6);
      onLevel(Math.max(0, Math.min(1, (db + 60) / 60)));
    }, 50);
  }

  stop() {
    clearInterval(this.timer);
    this.context.close().catch(() => {});
  }
}
