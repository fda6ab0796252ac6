// Adapter for the bare relays (bench/rooms/node/server.js, bench/rooms/relay.py).
//
// Every adapter exports the same six members; the driver knows nothing else
// about the server it loads:
//   connectOptions(p)          extra io() options for participant p (e.g. auth)
//   (optional) namespace       appended to the server URL, e.g. "/room"
//   (optional) attach(socket, p) called before the connection opens
//   join(socket, p, ms)        resolves once p is in its room and will receive
//   send(socket, p, text, ms)  emits one chat line with an ack; resolves on ack
//   ackOk(reply)               whether an ack reply means the line was accepted
//   deliveryEvent              the server->client event that carries a line
//   textOf(payload)            the line's text in a delivered payload, or null
"use strict";

module.exports = {
  connectOptions() {
    return {};
  },

  async join(socket, p, ms) {
    const reply = await socket.timeout(ms).emitWithAck("join", p.room);
    if (reply !== "ok") throw new Error(`join refused: ${JSON.stringify(reply)}`);
  },

  send(socket, p, text, ms) {
    return socket.timeout(ms).emitWithAck("chat", { room: p.room, text });
  },

  ackOk(reply) {
    return reply === "ok";
  },

  deliveryEvent: "chat",

  textOf(payload) {
    return payload && typeof payload.text === "string" ? payload.text : null;
  },
};
