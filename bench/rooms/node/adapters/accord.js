// Adapter for Accord's room hub (docs/protocol.md of the tree under test).
//
// Participants come from bench/rooms/accord_setup.py: each carries a room
// token for a seat already admitted to the joint room. Joining is connecting
// to the /room namespace with auth {token} and receiving "state" with
// placement "joint"; a chat line is "chat.send" {client_id, text} with an
// ack {ok: true, seq}; delivered lines arrive as "line" {kind: "chat",
// content: {text}}. The hub also sends the author their own line (counted as
// an echo by the driver, not as a delivery).
"use strict";

module.exports = {
  namespace: "/room",

  connectOptions(p) {
    return { auth: { token: p.token } };
  },

  // called before the connection opens, so "state" cannot slip past
  attach(socket, p) {
    p.state = new Promise((resolve) => socket.once("state", resolve));
    p.sent = 0;
  },

  async join(socket, p, ms) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("no state after connect")), ms);
    });
    try {
      const state = await Promise.race([p.state, timeout]);
      const placement = state && state.you && state.you.placement;
      if (placement !== p.room) throw new Error(`placed in ${placement}, not ${p.room}`);
    } finally {
      clearTimeout(timer);
    }
  },

  send(socket, p, text, ms) {
    p.sent += 1;
    const clientId = `${p.id}-${p.sent}`;
    return socket.timeout(ms).emitWithAck("chat.send", { client_id: clientId, text });
  },

  ackOk(reply) {
    return Boolean(reply && reply.ok === true);
  },

  deliveryEvent: "line",

  textOf(payload) {
    if (!payload || payload.kind !== "chat" || !payload.content) return null;
    return typeof payload.content.text === "string" ? payload.content.text : null;
  },
};
