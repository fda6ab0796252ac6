// The device check page (/room/{id}/check): a camera preview, a microphone
// level meter and a choice of devices, saved for the room page. Nothing
// leaves the browser from here.

import { fill, h, t } from "../room/dom.js";
import { LevelMeter, constraintsFor, mediaSupported, openDevices, saveDevices, savedDevices } from "./devices.js";

const byId = (id) => document.getElementById(id);
const page = JSON.parse(byId("check-data").textContent);
const preview = byId("check-preview");
const level = byId("check-level");
const message = byId("check-message");
const cameraSelect = byId("check-camera");
const microphoneSelect = byId("check-microphone");

let current = null;
let meter = null;

function say(key, kind = "") {
  message.hidden = !key;
  message.className = `notice ${kind}`.trim();
  message.textContent = key ? t(key) : "";
}

function release() {
  meter?.stop();
  meter = null;
  for (const track of current?.stream?.getTracks() || []) track.stop();
  current = null;
}

async function listDevices(choice) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const options = (kind, none, chosen) => [
    ...devices
      .filter((d) => d.kind === kind)
      .map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === chosen }, d.label || `${t(kind === "videoinput" ? "media.check.camera" : "media.check.microphone")} ${i + 1}`)),
    h("option", { value: "none", selected: chosen === "none" }, t(none)),
  ];
  fill(cameraSelect, options("videoinput", "media.check.no_camera", choice.video));
  fill(microphoneSelect, options("audioinput", "media.check.no_microphone", choice.audio));
  return devices;
}

async function open(choice) {
  release();
  const constraints = constraintsFor(page.media, choice);
  if (!constraints.audio && !constraints.video) {
    preview.srcObject = null;
    level.value = 0;
    return;
  }
  current = await openDevices(constraints);
  preview.srcObject = current.stream;
  preview.hidden = !current.video;
  if (current.audio) meter = new LevelMeter(current.audio, (value) => (level.value = value));
  if (!current.stream) {
    const refused = current.error?.name === "NotAllowedError" || current.error?.name === "SecurityError";
    say(refused ? "media.check.denied" : "media.check.none", "error");
  } else {
    say("media.check.ok", "ok");
  }
  // the devices in use, so the selects show what the preview shows
  return {
    audio: current.audio?.getSettings?.().deviceId || choice.audio,
    video: current.video?.getSettings?.().deviceId || choice.video,
  };
}

async function choose() {
  const choice = { audio: microphoneSelect.value, video: cameraSelect.value };
  saveDevices(choice);
  await open(choice);
}

async function start() {
  if (!mediaSupported()) {
    say("media.check.unsupported", "error");
    return;
  }
  const saved = savedDevices();
  const inUse = await open(saved);
  // device labels are only readable once the person allowed access
  await listDevices({ ...saved, ...(inUse || {}) });
  cameraSelect.addEventListener("change", choose);
  microphoneSelect.addEventListener("change", choose);
  byId("check-join").addEventListener("click", () => {
    saveDevices({ audio: microphoneSelect.value, video: cameraSelect.value });
    release();
  });
}

start();
