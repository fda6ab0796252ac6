// The media panel of the room page: video tiles labelled with who the server
// put in each slot, a self view, microphone and camera switches, a clear line
// saying who can see and hear you right now, the media state, and for a
// mediator the room whose media they are in. Mounted by room/main.js with
// mountFeature("media", …); everything the panel shows comes from the server's
// media events (docs/protocol.md, "Media events").

import { fill, h, t } from "../room/dom.js";
import { MediaSession } from "./session.js";

const STATES_SHOWN = new Set(["connecting", "audio-only", "receive-only", "failed", "text-only", "disabled", "closed"]);

function listOf(ids, nameOf) {
  return ids.map((id) => nameOf(id)).join(t("room.list_separator"));
}

/** The line that tells a person who can see and hear them now. */
export function audienceText(audience, nameOf) {
  if (!audience || audience.room === null) return t("media.audience.lobby");
  const seeing = [...audience.video].sort();
  const hearing = [...audience.audio].sort();
  if (!seeing.length && !hearing.length) return t("media.audience.nobody");
  if (seeing.join() === hearing.join()) return t("media.audience.both", { who: listOf(seeing, nameOf) });
  const nobody = t("media.audience.nobody_part");
  return t("media.audience.split", {
    seeing: seeing.length ? listOf(seeing, nameOf) : nobody,
    hearing: hearing.length ? listOf(hearing, nameOf) : nobody,
  });
}

class Tile {
  constructor(slot, onBlocked) {
    this.slot = slot;
    this.stream = new MediaStream();
    this.video = h("video", { autoplay: true, playsinline: true, class: "tile-video" });
    this.video.srcObject = this.stream;
    this.name = h("span", { class: "tile-name" });
    this.state = h("span", { class: "tile-state" });
    this.node = h("li", { class: "tile", dataset: { slot: String(slot) }, hidden: true }, this.video, h("span", { class: "tile-label" }, this.name, this.state));
    this.onBlocked = onBlocked;
  }

  setTrack(track) {
    for (const old of this.stream.getTracks()) {
      if (old.kind === track.kind) this.stream.removeTrack(old);
    }
    this.stream.addTrack(track);
    this.play();
  }

  play() {
    const playing = this.video.play();
    if (playing && typeof playing.catch === "function") playing.catch(() => this.onBlocked());
  }

  show(person, name) {
    if (!person) {
      this.node.hidden = true;
      delete this.node.dataset.participant;
      return;
    }
    this.node.hidden = false;
    this.node.dataset.participant = String(person.participant);
    this.node.dataset.video = person.video ? "on" : "off";
    this.name.textContent = name;
    this.video.setAttribute("aria-label", name);
    const notes = [];
    if (!person.audio) notes.push(t("media.tile.audio_off"));
    if (!person.video) notes.push(t("media.tile.video_off"));
    if (person.state === "connecting") notes.push(t("media.tile.waiting"));
    this.state.textContent = notes.length ? ` · ${notes.join(" · ")}` : "";
  }
}

export class MediaPanel {
  constructor(element, api, { nameOf, roomName, rooms, onRooms, config }) {
    this.element = element;
    this.api = api;
    this.nameOf = nameOf;
    this.roomName = roomName;
    this.rooms = rooms;
    this.config = config || { enabled: false };
    this.session = new MediaSession(api, this.config);
    this.tiles = [];
    this.slots = [];
    this.audience = null;
    this.mine = null;
    this.people = new Map();
    this.started = false;
    this.build(onRooms);
    this.wire();
  }

  build(onRooms) {
    this.audienceLine = h("p", { class: "media-audience", role: "status", "aria-live": "polite" });
    this.stateLine = h("p", { class: "media-state", "aria-live": "polite" });
    this.mutedLine = h("p", { class: "media-muted", role: "status", "aria-live": "polite", hidden: true });
    this.micButton = h("button", { type: "button", class: "button media-mic", "aria-pressed": "true", onclick: () => this.toggle("audio") });
    this.cameraButton = h("button", { type: "button", class: "button media-camera", "aria-pressed": "true", onclick: () => this.toggle("video") });
    this.playButton = h("button", { type: "button", class: "button media-play", hidden: true, onclick: () => this.playAll() }, t("media.play"));
    this.checkLink = h("a", { class: "media-check", href: `${location.pathname.replace(/\/console$/, "")}/check` }, t("media.check.link"));
    this.controls = h("div", { class: "media-controls" }, this.micButton, this.cameraButton, this.playButton, this.checkLink);
    this.onRooms = onRooms;

    this.self = h("video", { autoplay: true, playsinline: true, muted: true, class: "tile-video", "aria-label": t("media.self") });
    this.self.muted = true;
    const selfTile = h("li", { class: "tile tile-self" }, this.self, h("span", { class: "tile-label" }, h("span", { class: "tile-name" }, t("media.you"))));
    this.tileList = h("ul", { class: "media-tiles", "aria-label": t("media.tiles") }, selfTile);
    for (let slot = 0; slot < (this.config.slots || 0); slot += 1) {
      const tile = new Tile(slot, () => (this.playButton.hidden = false));
      this.tiles.push(tile);
      this.tileList.append(tile.node);
    }
    this.peopleList = h("ul", { class: "media-people", hidden: true });
    fill(
      this.element,
      h("h2", { class: "media-title" }, t("media.title")),
      this.audienceLine,
      this.stateLine,
      this.mutedLine,
      this.controls,
      this.tileList,
      this.peopleList,
    );
    this.renderButtons();
    this.mediatorControls();
  }

  /** A mediator chooses the room of their media and sees everyone's media state. */
  mediatorControls() {
    if (this.focusSelect || this.api.me?.kind !== "mediator") return;
    this.focusSelect = h("select", { id: "media-focus", onchange: () => this.session.setFocus(this.focusSelect.value).catch(() => {}) });
    this.controls.insertBefore(
      h("span", { class: "media-focus" }, h("label", { for: "media-focus" }, t("media.focus.label")), " ", this.focusSelect),
      this.checkLink,
    );
    this.onRooms(() => this.renderFocus());
    this.renderFocus();
    this.peopleList.hidden = false;
    this.renderPeople();
  }

  wire() {
    const session = this.session;
    session.on("status", () => this.renderState());
    session.on("local", ({ stream, audio, video }) => {
      if (stream) this.self.srcObject = stream;
      this.self.closest("li").hidden = !video;
      this.renderButtons();
    });
    session.on("sending", () => this.renderButtons());
    session.on("track", ({ slot, track }) => this.tiles[slot]?.setTrack(track));

    this.api.onEvent("media.slots", ({ slots }) => {
      this.slots = slots || [];
      this.renderTiles();
    });
    this.api.onEvent("media.audience", (audience) => {
      this.audience = audience;
      this.renderAudience();
    });
    this.api.onEvent("media.state", (state) => this.onState(state));
    this.api.onEvent("media.speaker", ({ participant }) => {
      for (const tile of this.tiles) {
        tile.node.classList.toggle("speaking", participant !== null && tile.node.dataset.participant === String(participant));
      }
    });
    // names arrive with the roster; a reconnect means the server closed our media
    this.api.on("roster", () => {
      this.renderTiles();
      this.renderAudience();
      this.maybeStart();
    });
    this.api.on("state", () => {
      this.mediatorControls();
      if (this.started) this.session.connect();
      else this.maybeStart();
    });
    this.api.on("placement", () => this.maybeStart());
    // the session ended or you were removed: close the camera and microphone
    this.api.on("status", ({ status }) => {
      if (status === "closed") this.session.stop();
    });
    this.maybeStart();
  }

  /** Start once the person is in a room (a mediator at once): never in the lobby. */
  maybeStart() {
    if (this.started || !this.api.me) return;
    this.mediatorControls();
    if (this.api.me.kind !== "mediator" && this.api.placement === "lobby") return;
    this.started = true;
    if (this.focusSelect) this.session.focus = this.focusSelect.value || "joint";
    this.session.start().catch(() => this.session.setStatus("failed"));
  }

  toggle(kind) {
    this.session.setSending(kind, !this.session.sending[kind]);
  }

  playAll() {
    this.playButton.hidden = true;
    for (const tile of this.tiles) tile.play();
  }

  onState(state) {
    const me = this.api.me;
    if (me && state.participant === me.id) {
      this.mine = state;
      this.renderState();
      const muted = state.muted || {};
      const key = muted.audio && muted.video ? "both" : muted.audio ? "audio" : muted.video ? "video" : null;
      this.mutedLine.hidden = !key;
      this.mutedLine.textContent = key ? t(`media.muted.${key}`) : "";
    }
    this.people.set(state.participant, state);
    this.renderPeople();
  }

  /**
   * The media state line. This page knows when its own connection is being
   * made, has failed or cannot exist; once connected, the server says what
   * actually flows (audio only, receive only), whichever arrived first.
   */
  renderState() {
    const local = this.session.status;
    const server = this.mine?.state;
    let status = local;
    if (local === "connected" && server && server !== "connecting" && server !== "closed") status = server;
    const shown = STATES_SHOWN.has(status) || status === "connected" ? status : null;
    this.stateLine.textContent = shown ? t(`media.state.${shown}`) : "";
    this.element.dataset.media = status;
  }

  renderButtons() {
    const { audio, video } = this.session.sending;
    const local = this.session.local;
    this.micButton.textContent = t(audio ? "media.mic.turn_off" : "media.mic.turn_on");
    this.micButton.setAttribute("aria-pressed", String(audio));
    this.micButton.disabled = !local.audio;
    this.cameraButton.textContent = t(video ? "media.camera.turn_off" : "media.camera.turn_on");
    this.cameraButton.setAttribute("aria-pressed", String(video));
    this.cameraButton.disabled = !local.video;
  }

  renderTiles() {
    this.tiles.forEach((tile, slot) => {
      const person = this.slots[slot] || null;
      tile.show(person, person ? this.nameOf(person.participant) : "");
    });
  }

  renderAudience() {
    this.audienceLine.textContent = this.audience ? audienceText(this.audience, this.nameOf) : "";
  }

  renderFocus() {
    const current = this.focusSelect.value || this.session.focus || "joint";
    fill(
      this.focusSelect,
      this.rooms().map((room) => h("option", { value: room, selected: room === current }, this.roomName(room))),
    );
  }

  renderPeople() {
    if (this.peopleList.hidden) return;
    const me = this.api.me;
    const items = [...this.people.values()]
      .filter((state) => !me || state.participant !== me.id)
      .map((state) =>
        h(
          "li",
          { dataset: { participant: String(state.participant), state: state.state } },
          `${this.nameOf(state.participant)}: `,
          state.state === "text-only" ? t("media.person.text_only") : t(`media.state.${state.state}`),
        ),
      );
    fill(this.peopleList, items);
  }
}

/** mountFeature("media", …) entry point: returns the panel (tests read it). */
export function mount(element, api, context) {
  const panel = new MediaPanel(element, api, context);
  element.accordMedia = panel;
  return panel;
}
