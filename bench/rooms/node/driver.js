// Load driver of the room benchmark: the official socket.io-client under Node.
//
//   node driver.js <config.json>
//
// The config names the server URL, the adapter (adapters/<name>.js), the
// scenario ("steady" or "burst") and the population of participants the
// orchestrator (bench/rooms/__main__.py) prepared. The driver talks to the
// orchestrator in JSON lines: it prints {"event": ...} at each phase boundary
// and, where the orchestrator samples the server's /proc counters, waits for
// a "go" line on stdin. Every wait is bounded; the driver always exits.
//
// Latency is one-way, sender to receiver: the sender writes
// performance.now() into the line's text and the receiver, in this same
// process, subtracts it from its own performance.now().
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { performance } = require("node:perf_hooks");
const { io } = require("socket.io-client");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const adapter = require(path.join(__dirname, "adapters", `${config.adapter}.js`));
const ACK_MS = config.ack_timeout_ms || (config.scenario === "burst" ? 60000 : 10000);
const CONNECT_MS = config.connect_timeout_ms || 20000;
const PAD = "x".repeat(Math.max(0, (config.text_bytes || 100) - 40));

// -- orchestrator link ----------------------------------------------------------

const commands = [];
const waiters = [];
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const waiter = waiters.shift();
  if (waiter) waiter(line.trim());
  else commands.push(line.trim());
});

function report(event, data = {}) {
  process.stdout.write(JSON.stringify({ event, ...data }) + "\n");
}

function nextCommand(ms = 120000) {
  if (commands.length) return Promise.resolve(commands.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no command from orchestrator")), ms);
    waiters.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
}

async function phase(event, data) {
  report(event, data);
  const command = await nextCommand();
  if (command !== "go") throw new Error(`expected "go", got ${JSON.stringify(command)}`);
}

// -- connections ---------------------------------------------------------------

const stats = { connectErrors: 0, joinErrors: 0, disconnects: 0 };
const sockets = [];

function connect(p, onLine) {
  return new Promise((resolve, reject) => {
    const socket = io(config.url + (adapter.namespace || ""), {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: CONNECT_MS,
      ...adapter.connectOptions(p),
    });
    // listeners go on before the connection opens: nothing can slip past them
    if (adapter.attach) adapter.attach(socket, p);
    if (onLine) socket.on(adapter.deliveryEvent, (payload) => onLine(p, payload));
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("connect timeout"));
    }, CONNECT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.on("disconnect", () => stats.disconnects++);
      sockets.push(socket);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
}

// Connect and join a list of participants, a bounded number at a time.
async function enter(participants, onLine) {
  const joined = new Array(participants.length).fill(null);
  const batch = config.connect_concurrency || 50;
  for (let i = 0; i < participants.length; i += batch) {
    await Promise.all(
      participants.slice(i, i + batch).map(async (p, k) => {
        let socket;
        try {
          socket = await connect(p, onLine);
        } catch (err) {
          stats.connectErrors++;
          if (stats.connectErrors <= 3) report("warning", { what: "connect", error: String(err.message || err) });
          return;
        }
        try {
          await adapter.join(socket, p, ACK_MS);
          joined[i + k] = socket;
        } catch (err) {
          stats.joinErrors++;
          if (stats.joinErrors <= 3) report("warning", { what: "join", error: String(err.message || err) });
        }
      }),
    );
  }
  return joined;
}

// -- lines and latency -------------------------------------------------------------

const latencies = [];
const counts = { sent: 0, acked: 0, ackErrors: 0, delivered: 0, echoes: 0, foreign: 0 };
let ackErrorSample = null;

function lineText(p, seq) {
  return `${p.id}|${seq}|${performance.now().toFixed(3)}|${PAD}`;
}

function onLine(receiver, payload) {
  const now = performance.now();
  const text = adapter.textOf(payload);
  if (text === null) {
    counts.foreign++;
    return;
  }
  const [sender, , stamp] = text.split("|", 3);
  if (sender === receiver.id) {
    counts.echoes++;
    return;
  }
  counts.delivered++;
  latencies.push(now - Number(stamp));
}

function send(socket, p, seq) {
  counts.sent++;
  return adapter.send(socket, p, lineText(p, seq), ACK_MS).then(
    (reply) => {
      if (adapter.ackOk(reply)) counts.acked++;
      else {
        counts.ackErrors++;
        ackErrorSample = ackErrorSample || reply;
      }
    },
    (err) => {
      counts.ackErrors++;
      ackErrorSample = ackErrorSample || String(err.message || err);
    },
  );
}

function summary(values) {
  if (!values.length) return { n: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50_ms: at(0.5),
    p90_ms: at(0.9),
    p99_ms: at(0.99),
    max_ms: sorted[sorted.length - 1],
    mean_ms: sum / sorted.length,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Wait until `done()` or until nothing has arrived for `quietMs`, at most `maxMs`.
async function drain(done, maxMs, quietMs = 2000) {
  const end = performance.now() + maxMs;
  let last = counts.delivered;
  let lastChange = performance.now();
  while (!done() && performance.now() < end) {
    await sleep(20);
    if (counts.delivered !== last) {
      last = counts.delivered;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > quietMs) {
      break;
    }
  }
}

// -- scenarios -----------------------------------------------------------------

async function steady() {
  const pop = config.population;
  await enter(pop.warmup || [], null);
  await phase("warm", { connections: sockets.length });

  const people = pop.sessions.flat();
  const joined = await enter(people, onLine);
  const active = people.map((p, i) => [p, joined[i]]).filter(([, s]) => s);
  await phase("idle", { connections: sockets.length, joined: active.length, ...stats });

  // each participant sends one line every interval, phases spread at random
  const interval = config.interval_ms;
  const durationMs = config.duration_s * 1000;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const inflight = [];
  const handles = new Set();
  const schedule = (fn, ms) => {
    const handle = setTimeout(() => {
      handles.delete(handle);
      fn();
    }, ms);
    handles.add(handle);
  };
  for (const [p, socket] of active) {
    const offset = Math.random() * interval;
    let seq = 0;
    const tick = () => {
      inflight.push(send(socket, p, seq));
      seq++;
      const next = offset + seq * interval;
      if (next < durationMs) schedule(tick, Math.max(0, start + next - performance.now()));
    };
    schedule(tick, offset);
  }
  await sleep(durationMs);
  const sendWindow = (performance.now() - start) / 1000;
  const perLine = pop.sessions[0].length - 1;
  const expected = () => counts.sent * perLine;
  await drain(() => counts.delivered >= expected(), 10000);
  await Promise.race([Promise.allSettled(inflight), sleep(ACK_MS)]);
  handles.forEach(clearTimeout);
  const cpu = process.cpuUsage(cpu0);

  report("result", {
    scenario: "steady",
    connections: sockets.length,
    participants: active.length,
    ...counts,
    expected: expected(),
    ack_error_sample: ackErrorSample,
    send_window_s: sendWindow,
    lines_per_s: counts.sent / sendWindow,
    deliveries_per_s: counts.delivered / sendWindow,
    latency: summary(latencies),
    driver_cpu_s: (cpu.user + cpu.system) / 1e6,
    ...stats,
  });
}

async function burst() {
  const pop = config.population;
  await enter(pop.warmup || [], null);
  const receivers = await enter(pop.burst.receivers, onLine);
  const [senderSocket] = await enter([pop.burst.sender], onLine);
  if (!senderSocket) throw new Error("the burst sender could not join");
  const listening = receivers.filter(Boolean).length;
  await phase("ready", { connections: sockets.length, receivers: listening, ...stats });

  const messages = config.messages;
  const expected = messages * listening;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const acks = [];
  for (let seq = 0; seq < messages; seq++) acks.push(send(senderSocket, pop.burst.sender, seq));
  await drain(() => counts.delivered >= expected, config.burst_timeout_s * 1000, 5000);
  const elapsed = (performance.now() - start) / 1000;
  await Promise.race([Promise.allSettled(acks), sleep(ACK_MS)]);
  const cpu = process.cpuUsage(cpu0);

  report("result", {
    scenario: "burst",
    connections: sockets.length,
    receivers: listening,
    ...counts,
    expected,
    ack_error_sample: ackErrorSample,
    elapsed_s: elapsed,
    deliveries_per_s: counts.delivered / elapsed,
    latency: summary(latencies),
    driver_cpu_s: (cpu.user + cpu.system) / 1e6,
    ...stats,
  });
}

async function main() {
  const run = { steady, burst }[config.scenario];
  if (!run) throw new Error(`unknown scenario ${config.scenario}`);
  const guard = setTimeout(() => {
    report("error", { error: "driver ran past its time limit" });
    process.exit(3);
  }, (config.time_limit_s || 600) * 1000);
  try {
    await run();
  } finally {
    for (const socket of sockets) socket.close();
    clearTimeout(guard);
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 200),
  (err) => {
    report("error", { error: String((err && err.stack) || err) });
    setTimeout(() => process.exit(2), 200);
  },
);
