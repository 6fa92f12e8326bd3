// Bytes to events: an incremental text/event-stream parser that does no I/O.
//
// It follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// and makes the same choices as the service's Python parser (compliance_sse/sse/parser.py):
// - lines end at CR, LF or CRLF; a CR that ends a chunk ends its line at once, and an LF that
//   starts the next chunk is then skipped as the rest of that CRLF;
// - bytes are decoded with one streaming TextDecoder, so a character split across chunks survives,
//   and invalid bytes become U+FFFD; one leading BOM is dropped;
// - lastEventId is the spec's "last event ID string", set when an event is dispatched;
// - retry is the last reconnection time the stream set, in milliseconds.

export const DEFAULT_MAX_EVENT_SIZE = 1024 * 1024;

const LINE_BREAK = /\r\n|\r|\n/;

export class EventTooLarge extends Error {}

export class EventParser {
  /** maxEventSize bounds, in characters, one line and the data of one event. */
  constructor(maxEventSize = DEFAULT_MAX_EVENT_SIZE) {
    this.lastEventId = "";
    this.retry = null;
    this.maxEventSize = maxEventSize;
    this.idBuffer = "";
    this.resetStream();
  }

  resetStream() {
    this.decoder = new TextDecoder("utf-8");
    this.afterCr = false;
    this.pending = "";
    this.data = [];
    this.dataSize = 0;
    this.eventType = "";
  }

  /** Parse the next bytes (a Uint8Array); return the events they complete. Throws EventTooLarge. */
  feed(chunk) {
    let text = this.decoder.decode(chunk, { stream: true });
    if (!text) return [];
    if (this.afterCr && text.startsWith("\n")) {
      text = text.slice(1); // the LF of a CRLF whose CR ended the previous chunk
    }
    this.afterCr = text.endsWith("\r");
    const lines = text.split(LINE_BREAK);
    const rest = lines.pop();
    const events = [];
    if (lines.length) {
      lines[0] = this.pending + lines[0];
      this.pending = "";
    }
    for (const line of lines) {
      this.checkSize(line.length);
      const event = this.processLine(line);
      if (event) events.push(event);
    }
    if (rest) {
      this.pending += rest;
      this.checkSize(this.pending.length);
    }
    return events;
  }

  /** End the stream. An unfinished event is discarded; the next stream keeps lastEventId. */
  flush() {
    this.resetStream();
    this.idBuffer = this.lastEventId;
    return [];
  }

  checkSize(size) {
    if (size > this.maxEventSize) {
      throw new EventTooLarge(`more than ${this.maxEventSize} characters in one line or event`);
    }
  }

  processLine(line) {
    if (!line) return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") {
      this.eventType = value;
    } else if (field === "data") {
      this.dataSize += value.length + (this.data.length ? 1 : 0);
      this.checkSize(this.dataSize);
      this.data.push(value);
    } else if (field === "id") {
      if (!value.includes("\0")) this.idBuffer = value;
    } else if (field === "retry" && /^[0-9]+$/.test(value)) {
      this.retry = Number.parseInt(value, 10);
    }
    return null;
  }

  dispatch() {
    this.lastEventId = this.idBuffer;
    const type = this.eventType || "message";
    this.eventType = "";
    if (!this.data.length) return null;
    const event = { type, data: this.data.join("\n"), id: this.lastEventId || null };
    this.data = [];
    this.dataSize = 0;
    return event;
  }
}
