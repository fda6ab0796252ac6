// A bare socket.io relay: the Node reference point of the room benchmark.
//
// Protocol (shared with bench/rooms/relay.py):
//   join(room) -> ack "ok"
//   chat({room, text}) -> ack "ok"; the same payload goes to everyone else
//   in the room as "chat".
// Binds to 127.0.0.1 only; prints "listening <port>" once ready.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  // socket.io's default already leaves permessage-deflate off; say so
  perMessageDeflate: false,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack("ok");
  });
  socket.on("chat", (data, ack) => {
    if (data && typeof data.room === "string") {
      socket.to(data.room).emit("chat", data);
    }
    if (typeof ack === "function") ack("ok");
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
