// monge playground: the page. Two boards (Flow, chapter 3; Transport, chapter 2) on one WebSocket;
// all mathematics runs in the server on monge's own solvers, the page draws and sends controls.
//
// For scripts and tests: window.playground.stats (the active board's live figures, updated on every
// drawn frame), window.playground.timings.transport (ms from a transport request to its drawn
// solution), window.playground.flow / .transport (the boards).
import { Connection } from "./connection.js";
import { FlowBoard } from "./flow.js";
import { TransportBoard } from "./transport.js";

const BOARDS = ["flow", "transport"];

class Playground {
  constructor() {
    this.board = "flow";
    this.flow = new FlowBoard(this);
    this.transport = new TransportBoard(this);
    this.resumeFlow = false; // the flow was playing when its tab was left
    this.readHash();
    for (const name of BOARDS) {
      document.getElementById(`tab-${name}`).addEventListener("click", () => this.show(name));
    }
    window.addEventListener("hashchange", () => this.readHash(true));
    window.addEventListener("resize", () => this.redraw());
    this.connection = new Connection({
      open: () => this.onOpen(),
      close: (reason) => this.status(reason, false),
      message: (m) => this.onMessage(m),
      frame: (f) => this.onFrame(f),
    });
  }

  get stats() { return this[this.board].stats; }
  get timings() { return { transport: this.transport.timings }; }

  send(message) { return this.connection ? this.connection.send(message) : false; }

  onOpen() {
    this.status("connected", true);
    this.flow.onOpen(this.board === "flow");
    this.transport.onOpen();
  }

  onMessage(message) {
    if (message.type === "error") {
      const text = String(message.message || "error");
      if (message.paused) this.flow.onDiverged(text); // a diverging step: the flow pauses
      else this[this.board].message(text);
    }
  }

  onFrame(frame) {
    if (frame.type === "flow") this.flow.onFrame(frame);
    else if (frame.type === "transport" || frame.type === "permutations") this.transport.onFrame(frame);
  }

  /** Switch boards; the flow pauses while its board is hidden and resumes when shown again. */
  show(name, write = true) {
    if (!BOARDS.includes(name)) return;
    const previous = this.board;
    this.board = name;
    for (const b of BOARDS) {
      document.getElementById(`board-${b}`).hidden = b !== name;
      document.getElementById(`tab-${b}`).setAttribute("aria-selected", String(b === name));
    }
    if (previous === "flow" && name !== "flow" && this.flow.playing) {
      this.resumeFlow = true;
      this.send({ type: "control", action: "pause" });
    } else if (name === "flow" && previous !== "flow" && this.resumeFlow) {
      this.resumeFlow = false;
      this.send({ type: "control", action: "play" });
    }
    this.redraw();
    if (write) this.writeHash();
  }

  redraw() {
    if (this.board === "flow") this.flow.render(); else this.transport.render();
  }

  /** Read the state from the URL hash (#board=flow&n=200&start=bad&seed=3 ...). */
  readHash(live = false) {
    const map = new Map();
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const [key, ...rest] = part.split("=");
      try { map.set(decodeURIComponent(key), decodeURIComponent(rest.join("="))); } catch (e) { /* a malformed part is ignored */ }
    }
    const board = BOARDS.includes(map.get("board")) ? map.get("board") : "flow";
    if (board === "flow") this.flow.applyHash(map); else this.transport.applyHash(map);
    this.show(board, false);
    if (board === "transport") this.transport.changed(false); // new clouds: solve them
    else if (live && this.connection && this.connection.open) this.flow.onOpen(true); // a pasted URL: apply it now
  }

  /** Write the state of the active board into the URL (history.replaceState: no new history entry). */
  writeHash() {
    const entries = [["board", this.board], ...this[this.board].hashEntries()];
    const text = entries.map(([k, v]) => `${k}=${String(v).replace(/[^\w.:,\-]/g, encodeURIComponent)}`).join("&");
    if (location.hash.slice(1) !== text) history.replaceState(null, "", `#${text}`);
  }

  status(text, live) {
    const el = document.getElementById("connection");
    el.textContent = text;
    el.classList.toggle("live", live);
    el.classList.toggle("down", !live);
  }
}

const app = new Playground();
window.playground = app;
