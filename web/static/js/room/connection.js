// The connection to the room hub (docs/protocol.md): a room token over HTTP,
// a websocket-only Socket.IO connection to the `/room` namespace, automatic
// reconnection that replays from the last synced seq, a visible status, and
// acknowledged sends that retry with the same client_id after a timeout.
//
// The roomApi object (createRoomApi below) is what later features (the
// negotiation panel, media, translation) receive, e.g. `mount(element, roomApi)`:
//
//   roomApi.send(event, payload) -> Promise<ack>
//       Emits a client→server event and resolves with the success ack
//       ({ok: true, seq, seqs, duplicate, result?}). A client_id is added for
//       every idempotent event unless the payload has one; after an ack
//       timeout or a reconnect the same payload (same client_id) is sent again,
//       so the server stores it once. Rejects with a RoomError {code, message,
//       field, details}; code "ack_timeout" when every retry timed out, or the
//       closing reason ("session_ended", "removed", …) once the room closed.
//   roomApi.on(kind, handler) -> unsubscribe()
//       kind is a line kind ("chat", "offer.made"), a prefix pattern
//       ("offer.*"), or "*" for every line: handler(entry) runs once per seq,
//       for live and replayed lines alike (duplicates dropped). entry = {seq,
//       line, room, kind, author, at, text, edited, withdrawn, history}.
//       Page events use the same call: "state", "roster", "placement"
//       ({placement, previous}), "status" ({status, code?}), "typing".
//   roomApi.onEvent(name, handler) -> unsubscribe()
//       A live-only server event that is not a line (e.g. "media.slots"):
//       handler(payload) for each one received, across reconnects.
//   roomApi.me        -> {id, kind, name, language, side, placement} or null
//   roomApi.placement -> "lobby" | "joint" | "caucus-…" (live)
//   roomApi.lines(room?) -> the entries of a room (default: my placement)
//   roomApi.t(key, values) -> catalogue text (features add their own keys)

import { io } from "/static/vendor/socket.io.esm.min.js";
import { api } from "../app.js";
import { Emitter } from "./store.js";

/** Defaults for RoomConnection's options object. */
export const DEFAULT_OPTIONS = {
  ackTimeoutMs: 6000, // wait this long for an ack before sending again
  retries: 4, // resends after the first attempt (same client_id)
  reconnectDelayMs: 500, // first reconnect delay; doubles up to the max
  reconnectDelayMaxMs: 5000,
  tokenMarginS: 30, // fetch a new token this long before the old one expires
  debug: false, // log protocol traffic to the console
};

// refusals after which reconnecting cannot help
const FINAL = new Set([
  "removed",
  "denied",
  "session_ended",
  "session_not_found",
  "session_locked",
  "token_revoked",
  "token_invalid",
  "no_seat",
  "not_found",
  "case_not_found",
  "not_authenticated",
]);

// events that carry no client_id (not stored, nothing to deduplicate)
const WITHOUT_CLIENT_ID = new Set(["replay", "typing"]);

/** A refused event or connection, with the hub's stable code. */
export class RoomError extends Error {
  constructor(code, message = "", field = null, details = {}) {
    super(message || code);
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

/** A client_id of the allowed alphabet, unique enough for one page. */
export function newClientId() {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  const random = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `w-${Date.now().toString(36)}-${random}`;
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => {});
  return { promise, resolve, reject, settled: false };
}

/**
 * One seat's live connection. Status events: "connecting", "syncing",
 * "online", "reconnecting", "closed" (with the reason code).
 */
export class RoomConnection extends Emitter {
  constructor(sessionId, store, options = {}) {
    super();
    this.sessionId = sessionId;
    this.store = store;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.socket = null;
    this.token = null;
    this.tokenExpires = 0;
    this.status = "connecting";
    this.closedReason = null;
    this.ready = deferred();
    this.syncing = null;
    this.resync = false;
  }

  log(...args) {
    if (this.options.debug) console.debug("[room]", ...args);
  }

  setStatus(status, code = null) {
    this.status = status;
    this.emit("status", { status, code });
  }

  /** Fetch a token (or reuse one that is still fresh). */
  async freshToken() {
    const now = Date.now() / 1000;
    if (this.token && this.tokenExpires - this.options.tokenMarginS > now) return this.token;
    const answer = await api(`/api/sessions/${this.sessionId}/token`, { method: "POST" });
    this.token = answer.token;
    this.tokenExpires = answer.expires_at;
    this.path = answer.path || "/socket.io";
    this.namespace = answer.namespace || "/room";
    return this.token;
  }

  /** Get a token and connect; failures surface as a "closed" status. */
  async start() {
    this.setStatus("connecting");
    try {
      await this.freshToken();
    } catch (error) {
      this.close(error.code || "token_failed");
      return;
    }

    const socket = io(this.namespace, {
      path: this.path,
      transports: ["websocket"],
      reconnectionDelay: this.options.reconnectDelayMs,
      reconnectionDelayMax: this.options.reconnectDelayMaxMs,
      // called on every (re)connect, so an expiring token is replaced in time
      auth: (send) => {
        this.freshToken().then(
          (token) => send({ token }),
          () => send({ token: this.token || "" }),
        );
      },
    });
    this.socket = socket;

    socket.on("connect", () => {
      this.log("connected", socket.id);
      this.setStatus("syncing");
    });
    socket.on("state", (state) => this.onState(state));
    socket.on("line", (line) => this.onLine(line));
    socket.on("roster", (roster) => this.onRoster(roster));
    socket.on("typing", (typing) => this.store.setTyping(typing));
    socket.on("closing", ({ reason } = {}) => this.close(reason || "closed"));
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (error) => this.onConnectError(error));
    // every server event, for features listening with roomApi.onEvent
    socket.onAny((event, payload) => this.emit(`event:${event}`, payload));
  }

  async onState(state) {
    this.store.setState(state);
    try {
      await this.catchUp();
    } catch (error) {
      this.log("replay failed", error);
    }
    if (this.closedReason) return;
    this.setStatus("online");
    if (!this.ready.settled) {
      this.ready.settled = true;
      this.ready.resolve();
    }
  }

  onLine(line) {
    this.log("line", line.seq, line.kind, line.room);
    this.store.addLine(line);
    // a move addressed to me: the room I now see has history I was not sent live
    if (line.kind === "placement" && this.store.me && line.visibility === `participant:${this.store.me.id}`) {
      if (this.store.setPlacement(line.content?.placement)) this.catchUp().catch(() => {});
    }
  }

  onRoster(roster) {
    const before = this.store.placement;
    this.store.setRoster(roster);
    if (this.store.placement !== before) this.catchUp().catch(() => {});
  }

  onDisconnect(reason) {
    this.log("disconnected", reason);
    if (this.ready.settled) this.ready = deferred();
    if (this.closedReason) return;
    this.setStatus("reconnecting");
    // the server closed us without saying why (a restart): try again ourselves
    if (reason === "io server disconnect") {
      setTimeout(() => this.socket && !this.closedReason && this.socket.connect(), this.options.reconnectDelayMs);
    }
  }

  onConnectError(error) {
    const code = error?.data?.code;
    this.log("connect_error", code || error?.message);
    if (code === "token_expired") {
      this.token = null;
      setTimeout(() => this.socket.connect(), this.options.reconnectDelayMs);
      this.setStatus("reconnecting");
    } else if (code && FINAL.has(code)) {
      this.close(code);
    } else if (code) {
      // refused for a passing reason: the client does not retry on its own then
      this.setStatus("reconnecting", code);
      setTimeout(() => this.socket && !this.closedReason && this.socket.connect(), this.options.reconnectDelayMaxMs);
    } else {
      this.setStatus("reconnecting");
    }
  }

  /** Stop for good and say why (ended, removed, denied, …). */
  close(reason) {
    if (this.closedReason) return;
    this.closedReason = reason;
    const error = new RoomError(reason);
    if (!this.ready.settled) {
      this.ready.settled = true;
      this.ready.reject(error);
    } else {
      this.ready = deferred();
      this.ready.settled = true;
      this.ready.reject(error);
    }
    if (this.socket) {
      this.socket.io.reconnection(false);
      this.socket.disconnect();
    }
    this.setStatus("closed", reason);
  }

  /** One emit with an ack and a timeout, no retry. */
  async call(event, payload) {
    const ack = await this.socket.timeout(this.options.ackTimeoutMs).emitWithAck(event, payload);
    return ack;
  }

  /**
   * Replay everything after the last synced seq, page by page. Runs again
   * when asked while running (a move or a reconnect during a replay).
   */
  catchUp() {
    if (this.syncing) {
      this.resync = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resync = false;
        let since = this.store.syncedSeq;
        for (;;) {
          const ack = await this.call("replay", { since });
          if (!ack || !ack.ok) throw new RoomError(ack?.error?.code || "internal_error", ack?.error?.message);
          if (ack.gap?.reason === "ahead_of_server") {
            this.store.reset();
            since = 0;
            continue;
          }
          this.store.addLines(ack.lines || []);
          if (ack.gap?.reason === "in_lobby") break;
          if (!ack.more) {
            this.store.syncedSeq = Math.max(this.store.syncedSeq, ack.head || 0);
            break;
          }
          since = ack.next;
        }
      } while (this.resync);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  /** Send an event, retrying with the same client_id; see the roomApi notes. */
  async send(event, payload = {}) {
    const body = { ...payload };
    if (!WITHOUT_CLIENT_ID.has(event) && !body.client_id) body.client_id = newClientId();
    for (let attempt = 0; ; attempt += 1) {
      await this.ready.promise.catch(() => {
        throw new RoomError(this.closedReason || "closed");
      });
      let ack;
      try {
        ack = await this.call(event, body);
      } catch {
        this.log("no ack for", event, "attempt", attempt);
        if (this.closedReason) throw new RoomError(this.closedReason);
        if (attempt >= this.options.retries) throw new RoomError("ack_timeout");
        continue;
      }
      if (ack && ack.ok) return ack;
      const error = ack?.error || {};
      throw new RoomError(error.code || "internal_error", error.message, error.field, error.details);
    }
  }

  /** Typing is live only: no id, no retry, dropped while offline. */
  typing(active) {
    if (this.status === "online") this.socket.emit("typing", { active });
  }
}

/** The roomApi later features mount with (documented at the top of this module). */
export function createRoomApi(connection, store, translate) {
  const lineHandlers = new Set();
  store.on("line", (entry) => {
    for (const { pattern, handler } of lineHandlers) {
      const match =
        pattern === "*" ||
        pattern === entry.kind ||
        (pattern.endsWith(".*") && entry.kind.startsWith(pattern.slice(0, -1)));
      if (match) {
        try {
          handler(entry);
        } catch (error) {
          console.error("roomApi handler failed", error);
        }
      }
    }
  });
  const pageEvents = new Set(["state", "roster", "placement", "typing", "rooms"]);
  return Object.freeze({
    send: (event, payload) => connection.send(event, payload),
    on(kind, handler) {
      if (kind === "status") return connection.on("status", handler);
      if (pageEvents.has(kind)) return store.on(kind, handler);
      const item = { pattern: kind, handler };
      lineHandlers.add(item);
      return () => lineHandlers.delete(item);
    },
    onEvent: (name, handler) => connection.on(`event:${name}`, handler),
    get me() {
      return store.me;
    },
    get placement() {
      return store.placement;
    },
    lines: (room) => store.linesIn(room || store.placement),
    t: translate,
  });
}
