// The room's client-side state: lines kept by seq (duplicates dropped,
// corrections and withdrawals applied to the line they refer to), who I am,
// where I am placed, the roster, typing, and the rooms known so far.
//
// Events (store.on(kind, handler)): "state", "line" (each new entry once),
// "lines" (after a batch), "entry" (an existing entry changed), "reset",
// "roster", "names" (a person's name became known), "placement", "typing",
// "rooms".

/** A tiny event emitter; on() returns a function that unsubscribes. */
export class Emitter {
  constructor() {
    this.handlers = new Map();
  }

  on(kind, handler) {
    if (!this.handlers.has(kind)) this.handlers.set(kind, new Set());
    this.handlers.get(kind).add(handler);
    return () => this.handlers.get(kind)?.delete(handler);
  }

  emit(kind, data) {
    for (const handler of [...(this.handlers.get(kind) || [])]) {
      try {
        handler(data);
      } catch (error) {
        console.error("room handler for %s failed", kind, error);
      }
    }
  }
}

/** Line kinds that change an earlier line instead of standing on their own. */
export const UPDATE_KINDS = new Set(["chat.correct", "chat.withdraw"]);

const TYPING_SHOWN_MS = 6000;

/**
 * One line as the page keeps it: the line as received, its current text,
 * and (for mediators) every version it went through.
 */
function entryOf(line) {
  const content = line.content || {};
  const entry = {
    seq: line.seq,
    line,
    room: line.room,
    kind: line.kind,
    author: line.author,
    at: line.at,
    text: content.text ?? "",
    original: content.text ?? "",
    edited: Boolean(content.edited),
    withdrawn: Boolean(content.withdrawn),
    history: [],
    version: 0,
  };
  // a mediator's replay carries the original plus its latest revision
  if (line.revision) {
    entry.text = line.revision.text ?? entry.text;
    entry.edited = Boolean(line.revision.edited);
    entry.withdrawn = Boolean(line.revision.withdrawn);
  }
  return entry;
}

export class RoomStore extends Emitter {
  constructor() {
    super();
    this.entries = new Map();
    // updates whose target line has not arrived yet (live lines can race)
    this.pendingUpdates = new Map();
    // everything entitled up to here has been received (advanced by replays)
    this.syncedSeq = 0;
    this.lastSeq = 0;
    this.me = null;
    this.session = null;
    this.limits = { max_message_chars: 4000, correction_window_s: 120 };
    this.placement = "lobby";
    this.roster = null;
    this.names = new Map();
    this.typing = new Map();
    this.createdRooms = new Set();
    // caucus lines I released; the release line itself goes to the joint room
    this.released = new Set();
  }

  get isMediator() {
    return this.me?.kind === "mediator";
  }

  /** The server's `state` event, received on every (re)connect. */
  setState(state) {
    this.me = state.you;
    this.session = state.session;
    this.limits = { ...this.limits, ...(state.limits || {}) };
    this.remember([state.you]);
    this.emit("state", state);
    this.setPlacement(state.you.placement);
  }

  /** Where I am now; emits "placement" when it changed. */
  setPlacement(placement) {
    if (!placement || placement === this.placement) return false;
    const previous = this.placement;
    this.placement = placement;
    if (this.me) this.me = { ...this.me, placement };
    this.emit("placement", { placement, previous });
    this.emit("rooms", this.rooms());
    return true;
  }

  /** Forget every line (the server said we are ahead of it: reload from 0). */
  reset() {
    this.entries.clear();
    this.pendingUpdates.clear();
    this.syncedSeq = 0;
    this.lastSeq = 0;
    this.emit("reset");
  }

  /** Keep lines by seq; returns the entries that were new. */
  addLines(lines) {
    const added = [];
    for (const line of lines) {
      const entry = this.addLine(line, { quiet: true });
      if (entry) added.push(entry);
    }
    if (added.length) {
      this.emit("lines", added);
      this.emit("rooms", this.rooms());
    }
    return added;
  }

  /** Keep one line; a seq seen before is dropped. Returns the new entry or null. */
  addLine(line, { quiet = false } = {}) {
    if (!line || typeof line.seq !== "number" || this.entries.has(line.seq)) return null;
    const entry = entryOf(line);
    this.entries.set(line.seq, entry);
    this.lastSeq = Math.max(this.lastSeq, line.seq);

    if (UPDATE_KINDS.has(line.kind) && typeof line.ref === "number") {
      const target = this.entries.get(line.ref);
      if (target) this.applyUpdate(target, entry);
      else this.pendingUpdates.set(line.ref, [...(this.pendingUpdates.get(line.ref) || []), entry]);
    }
    for (const update of this.pendingUpdates.get(line.seq) || []) this.applyUpdate(entry, update);
    this.pendingUpdates.delete(line.seq);

    this.emit("line", entry);
    if (!quiet) {
      this.emit("lines", [entry]);
      if (!this.rooms().includes(entry.room)) this.emit("rooms", this.rooms());
    }
    return entry;
  }

  applyUpdate(target, update) {
    if (target.history.some((item) => item.seq === update.seq)) return;
    if (update.kind === "chat.correct") {
      target.history.push({ seq: update.seq, kind: update.kind, text: update.text, at: update.at });
      target.history.sort((a, b) => a.seq - b.seq);
      const latest = target.history.filter((item) => item.kind === "chat.correct").at(-1);
      target.text = latest.text;
      target.edited = true;
    } else if (update.kind === "chat.withdraw") {
      target.history.push({ seq: update.seq, kind: update.kind, text: "", at: update.at });
      target.withdrawn = true;
    }
    target.version += 1;
    this.emit("entry", target);
  }

  /** Entries of one room in seq order, updates folded into their lines. */
  linesIn(room) {
    return [...this.entries.values()]
      .filter((entry) => entry.room === room && !UPDATE_KINDS.has(entry.kind))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Every room the page knows: lines, placements, rooms a mediator created. */
  rooms() {
    const found = new Set(["joint"]);
    for (const entry of this.entries.values()) {
      if (entry.room && entry.room !== "lobby") found.add(entry.room);
    }
    for (const person of this.roster?.people || []) {
      if (person.placement && person.placement !== "lobby") found.add(person.placement);
    }
    if (this.placement && this.placement !== "lobby") found.add(this.placement);
    for (const room of this.createdRooms) found.add(room);
    const caucuses = [...found].filter((room) => room !== "joint").sort();
    return ["joint", ...caucuses];
  }

  /** A caucus the mediator opened before anyone was moved into it. */
  addRoom(key) {
    if (this.createdRooms.has(key)) return;
    this.createdRooms.add(key);
    this.emit("rooms", this.rooms());
  }

  /** The live roster; also the names to show for authors of older lines. */
  setRoster(roster) {
    this.roster = roster;
    this.remember(roster.people || []);
    this.emit("roster", roster);
    if (roster.placement) this.setPlacement(roster.placement);
    this.emit("rooms", this.rooms());
  }

  /** Keep each person's name and kind; emits "names" when one is new or changed. */
  remember(people) {
    let changed = false;
    for (const person of people) {
      if (!person || typeof person.id !== "number") continue;
      const known = this.names.get(person.id);
      if (!known || known.name !== person.name || known.kind !== person.kind) changed = true;
      this.names.set(person.id, { ...(known || {}), ...person });
    }
    if (changed) this.emit("names");
  }

  /** Someone started or stopped typing. */
  setTyping({ participant, room, active }) {
    if (active) this.typing.set(participant, { room, until: Date.now() + TYPING_SHOWN_MS });
    else this.typing.delete(participant);
    this.emit("typing", this.typingIn(room));
  }

  /** Who is typing in a room now (ids), dropping stale entries. */
  typingIn(room) {
    const now = Date.now();
    const ids = [];
    for (const [id, item] of this.typing) {
      if (item.until < now) this.typing.delete(id);
      else if (item.room === room && id !== this.me?.id) ids.push(id);
    }
    return ids;
  }

  /** May I still correct or withdraw this line? */
  mayChange(entry, now = Date.now()) {
    if (!this.me || entry.author !== this.me.id || entry.kind !== "chat" || entry.withdrawn) {
      return false;
    }
    const said = Date.parse(entry.at);
    return Number.isFinite(said) && now - said < this.limits.correction_window_s * 1000;
  }

  /** Note a line I released, so its button goes away. */
  markReleased(seq) {
    this.released.add(seq);
    const entry = this.entries.get(seq);
    if (entry) {
      entry.version += 1;
      this.emit("entry", entry);
    }
  }

  /** May I release this caucus line to the joint room? */
  mayRelease(entry) {
    return (
      Boolean(this.me) &&
      ["party", "representative"].includes(this.me.kind) &&
      entry.author === this.me.id &&
      entry.kind === "chat" &&
      !entry.withdrawn &&
      entry.room.startsWith("caucus-") &&
      !this.released.has(entry.seq) &&
      ![...this.entries.values()].some((other) => other.kind === "chat.release" && other.line.ref === entry.seq)
    );
  }
}
