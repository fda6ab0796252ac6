// Joins a room with the official socket.io-client, chats, resends, replays,
// and prints one JSON summary line. Usage: node room-client.mjs URL TOKEN_A TOKEN_B
import { io } from "socket.io-client";

const [url, tokenA, tokenB] = process.argv.slice(2);

function connect(token) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/room`, {
      transports: ["websocket"],
      auth: { token },
      reconnection: false,
    });
    socket.lines = [];
    socket.on("line", (line) => socket.lines.push(line));
    socket.on("state", () => resolve(socket));
    socket.on("connect_error", (err) => reject(err));
  });
}

const summary = {};
try {
  const bad = await connect("forged-token").catch((err) => err);
  summary.refused = { message: bad.message, code: bad.data && bad.data.code };

  const a = await connect(tokenA);
  const b = await connect(tokenB);
  const ack = await a.timeout(5000).emitWithAck("chat.send", {
    client_id: "js-1",
    text: "hello from node",
  });
  const resend = await a.timeout(5000).emitWithAck("chat.send", {
    client_id: "js-1",
    text: "different text",
  });
  const invalid = await a.timeout(5000).emitWithAck("chat.send", { text: 5 });
  await new Promise((r) => setTimeout(r, 300));
  const replay = await b.timeout(5000).emitWithAck("replay", { since: 0 });
  summary.ack = ack;
  summary.resend = resend;
  summary.invalid = invalid;
  summary.live = b.lines.filter((l) => l.kind === "chat").map((l) => l.content.text);
  summary.replay = replay.lines.filter((l) => l.kind === "chat").map((l) => [l.seq, l.content.text]);
  a.disconnect();
  b.disconnect();
} catch (err) {
  summary.error = String(err);
}
console.log(JSON.stringify(summary));
process.exit(0);
