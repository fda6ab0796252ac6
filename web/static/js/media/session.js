// One participant's WebRTC connection with the server (docs/protocol.md,
// "Media events"): the camera and microphone as the first audio and video
// transceivers, one receive-only pair per further tile, VP8 preferred, the
// complete offer (ICE gathering finished: no trickle) over `media.offer`, and
// a new offer after every reconnect or failure. No DOM here.
//
// Events (session.on(kind, handler)): "status" ({status, code?}), "track"
// ({slot, kind, track}), "local" ({stream, audio, video}), "sending"
// ({audio, video}).

import { Emitter } from "../room/store.js";
import { constraintsFor, mediaSupported, openDevices } from "./devices.js";

/** Defaults for MediaSession's options object. */
export const DEFAULT_OPTIONS = {
  gatherTimeoutMs: 5000, // send what was gathered by then
  retryDelayMs: 1000, // first retry after a failure; doubles
  retries: 4, // then the person is told that only the chat works
};

function gathered(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Put VP8 first (and alone, with its retransmissions) where the browser lets us. */
function preferVp8(transceiver) {
  const capabilities = window.RTCRtpReceiver?.getCapabilities?.("video");
  if (!capabilities || typeof transceiver.setCodecPreferences !== "function") return;
  const codecs = capabilities.codecs.filter((c) => /^video\/(vp8|rtx)$/i.test(c.mimeType));
  if (codecs.some((c) => /vp8/i.test(c.mimeType))) {
    try {
      transceiver.setCodecPreferences(codecs);
    } catch {
      // an older browser refuses the list: it offers its own order then
    }
  }
}

export class MediaSession extends Emitter {
  constructor(api, config, options = {}) {
    super();
    this.api = api;
    this.config = config;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.pc = null;
    this.local = { stream: null, audio: null, video: null };
    this.sending = { audio: true, video: true };
    this.focus = null; // a mediator's media room
    this.status = "idle";
    this.failures = 0;
    this.generation = 0;
    this.retryTimer = null;
    this.stopped = false;
  }

  setStatus(status, code = null) {
    this.status = status;
    this.emit("status", { status, code });
  }

  /** Open the camera and microphone (once), then connect. */
  async start() {
    if (!this.config?.enabled) {
      this.setStatus("disabled", this.config?.reason || "media_disabled");
      return;
    }
    if (!mediaSupported()) {
      this.setStatus("text-only", "no-webrtc");
      this.report("no-webrtc");
      return;
    }
    // observers only watch: their camera and microphone stay closed
    if (!this.local.stream && this.api.me?.kind !== "observer") {
      this.local = await openDevices(constraintsFor(this.config));
    }
    this.emit("local", this.local);
    await this.connect();
  }

  /** A fresh connection: after a reconnect the server has closed the old one. */
  async connect() {
    if (this.stopped || !this.config?.enabled) return;
    clearTimeout(this.retryTimer);
    const generation = ++this.generation;
    if (this.pc) this.pc.close();
    this.setStatus("connecting");

    const pc = new RTCPeerConnection({
      iceServers: this.config.iceServers || [],
      bundlePolicy: "max-bundle",
    });
    this.pc = pc;
    const audio = [];
    const video = [];
    audio.push(pc.addTransceiver(this.local.audio || "audio", { direction: this.local.audio ? "sendrecv" : "recvonly" }));
    video.push(pc.addTransceiver(this.local.video || "video", { direction: this.local.video ? "sendrecv" : "recvonly" }));
    for (let i = 1; i < (this.config.slots || 1); i += 1) {
      audio.push(pc.addTransceiver("audio", { direction: "recvonly" }));
      video.push(pc.addTransceiver("video", { direction: "recvonly" }));
    }
    video.forEach(preferVp8);
    this.transceivers = { audio, video };

    pc.addEventListener("track", (event) => {
      const list = event.track.kind === "audio" ? audio : video;
      const slot = list.indexOf(event.transceiver);
      if (slot >= 0) this.emit("track", { slot, kind: event.track.kind, track: event.track });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "connected") {
        this.failures = 0;
        this.setStatus("connected");
      } else if (pc.connectionState === "failed") {
        this.retry("failed");
      }
    });

    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, this.options.gatherTimeoutMs);
      if (generation !== this.generation) return;
      const payload = {
        sdp: pc.localDescription.sdp,
        type: "offer",
        audio: this.sending.audio,
        video: this.sending.video,
      };
      if (this.focus) payload.room = this.focus;
      const ack = await this.api.send("media.offer", payload);
      if (generation !== this.generation) return;
      await pc.setRemoteDescription(ack.result.answer);
    } catch (error) {
      if (generation !== this.generation) return;
      if (error?.code === "media_disabled") {
        this.stop();
        this.setStatus("disabled", error.code);
        return;
      }
      this.retry(error?.code || "failed");
    }
  }

  /** Try again later; after a few failures say that only the chat works. */
  retry(code) {
    if (this.stopped) return;
    this.failures += 1;
    if (this.failures > this.options.retries) {
      this.setStatus("text-only", code);
      this.report("failed");
      return;
    }
    this.setStatus("failed", code);
    const delay = this.options.retryDelayMs * 2 ** (this.failures - 1);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  report(reason) {
    this.api.send("media.report", { state: "text-only", reason }).catch(() => {});
  }

  /** Your own microphone and camera: stop sending locally and at the server. */
  async setSending(kind, on) {
    this.sending = { ...this.sending, [kind]: on };
    const track = this.local[kind];
    if (track) track.enabled = on;
    this.emit("sending", this.sending);
    if (this.pc) {
      await this.api.send("media.toggle", { ...this.sending }).catch(() => {});
    }
  }

  /** A mediator's choice of the room whose media they take part in. */
  async setFocus(room) {
    this.focus = room;
    if (this.pc) await this.api.send("media.focus", { room });
  }

  /** Inbound statistics by slot, for the page and for tests. */
  async inbound() {
    const out = { audio: {}, video: {} };
    if (!this.pc || !this.transceivers) return out;
    const stats = await this.pc.getStats();
    stats.forEach((report) => {
      if (report.type !== "inbound-rtp") return;
      const list = this.transceivers[report.kind] || [];
      const slot = list.findIndex((t) => t.mid === report.mid);
      if (slot < 0) return;
      out[report.kind][slot] = {
        packets: report.packetsReceived || 0,
        frames: report.framesDecoded || 0,
        width: report.frameWidth || 0,
        energy: report.totalAudioEnergy || 0,
      };
    });
    return out;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
    for (const track of this.local.stream?.getTracks() || []) track.stop();
  }
}
