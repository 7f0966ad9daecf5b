// The page's one WebSocket (/ws): JSON messages out; binary frames and JSON messages in.
//
// Binary frame: uint32 LE H | H bytes of UTF-8 JSON header | zero padding to 4 | arrays, each at a
// multiple of 4 from the start of the array section (header.arrays[k].offset).

const DTYPES = { float32: Float32Array, int32: Int32Array };
const decoder = new TextDecoder();

/** The header of a binary frame, with its arrays as typed views: header.data[name] = {data, shape}. */
export function decodeFrame(buffer) {
  const h = new DataView(buffer).getUint32(0, true);
  if (4 + h > buffer.byteLength) throw new Error(`frame: header of ${h} bytes in a frame of ${buffer.byteLength}`);
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 4, h)));
  const base = (4 + h + 3) & ~3;
  header.data = {};
  for (const a of header.arrays || []) {
    const Type = DTYPES[a.dtype];
    if (!Type) throw new Error(`frame: array ${a.name} has dtype ${a.dtype}; expected float32 or int32`);
    const count = a.shape.reduce((p, s) => p * s, 1);
    // a view, no copy: the buffer belongs to this frame alone
    header.data[a.name] = { data: new Type(buffer, base + a.offset, count), shape: a.shape };
  }
  return header;
}

const CLOSE_REASONS = {
  1008: "the server refused this page's origin",
  1009: "a message was too large for the server",
  1013: "the server has too many clients; retrying",
};

export class Connection {
  /** handlers: open(), close(text), message(json), frame(decoded) */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.retry = 500;
    this.connect();
  }

  get url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  get open() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => { this.retry = 500; this.handlers.open(); };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        this.handlers.message(message);
      } else {
        let frame;
        try { frame = decodeFrame(event.data); } catch (e) {
          this.handlers.message({ type: "error", message: String(e.message || e) });
          return;
        }
        this.handlers.frame(frame);
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const reason = CLOSE_REASONS[event.code] || "connection closed; reconnecting";
      this.handlers.close(reason);
      if (event.code === 1008 || event.code === 1009) return; // retrying cannot help
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 8000);
    };
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }
}
