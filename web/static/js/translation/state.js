// What the page knows about translation: the `translation` updates and the
// interpreter's `translation.draft` lines of every line (docs/protocol.md,
// "Translation events"), the session's release mode, and my reading
// language. Emits "line" (a line's translations changed, with its seq),
// "mode", "language" and "drafts".

import { Emitter } from "../room/store.js";

const RETIRED = new Set(["superseded", "withdrawn"]);
const TRADITIONAL = new Set(["zh-tw", "zh-hk", "zh-mo", "zh-hant"]);

/** The model code of a language tag, as the server computes it (zh-CN → zh). */
export function modelCode(tag) {
  const lowered = String(tag || "").trim().toLowerCase();
  if (TRADITIONAL.has(lowered) || lowered.startsWith("zh-hant")) return "zt";
  return lowered.split("-")[0];
}

/** The seq of a line's current text: its latest correction, else its own. */
export function versionOf(entry) {
  const corrections = (entry.history || []).filter((item) => item.kind === "chat.correct");
  return Math.max(entry.seq, ...corrections.map((item) => item.seq));
}

function retired(line) {
  return RETIRED.has(line.content?.status) || RETIRED.has(line.revision?.status);
}

export class TranslationState extends Emitter {
  constructor() {
    super();
    this.lines = new Map(); // seq -> the room store's entry of a translated line
    this.updates = new Map(); // ref -> [{seq, content}]
    this.drafts = new Map(); // ref -> [{seq, content, to}]
    this.offers = new Map(); // offer id -> [{seq, content}]
    this.mode = "correct_after";
    this.modeSeq = 0;
    this.language = null; // my reading language, as a model code
  }

  setLanguage(tag) {
    const code = modelCode(tag);
    if (!tag || code === this.language) return;
    this.language = code;
    this.emit("language", code);
  }

  /** A chat line (or a release of one) whose translations this page shows. */
  rememberLine(entry) {
    this.lines.set(entry.seq, entry);
    this.emit("line", entry.seq);
  }

  addUpdate(entry) {
    const line = entry.line;
    if (typeof line.ref !== "number" || retired(line)) return;
    const item = { seq: line.seq, content: line.content };
    if (line.content.offer_id != null) {
      const list = this.offers.get(line.content.offer_id) || [];
      this.offers.set(line.content.offer_id, [...list, item]);
      this.emit("offers", line.content.offer_id);
      return;
    }
    this.updates.set(line.ref, [...(this.updates.get(line.ref) || []), item]);
    this.emit("line", line.ref);
    this.emit("drafts");
  }

  addDraft(entry) {
    const line = entry.line;
    if (typeof line.ref !== "number" || retired(line)) return;
    const to = Number(String(line.visibility).split(":")[1]);
    this.drafts.set(line.ref, [...(this.drafts.get(line.ref) || []), { seq: line.seq, content: line.content, to }]);
    this.emit("drafts");
  }

  setMode(entry) {
    if (entry.seq < this.modeSeq) return;
    this.modeSeq = entry.seq;
    this.mode = entry.line.content?.mode || "correct_after";
    this.emit("mode", this.mode);
  }

  /** The translation readers of `target` see for a line now, or null. */
  shown(seq, target) {
    const entry = this.lines.get(seq);
    const version = entry ? versionOf(entry) : seq;
    const found = (this.updates.get(seq) || []).filter(
      (item) => item.content.target === target && item.content.version === version,
    );
    return found.length ? found.reduce((a, b) => (b.seq > a.seq ? b : a)) : null;
  }

  /** The languages a line has translations in (at any version). */
  targets(seq) {
    return [...new Set((this.updates.get(seq) || []).map((item) => item.content.target))].sort();
  }

  /** An offer's latest translation into `target`, or null. */
  offerShown(offerId, target) {
    const found = (this.offers.get(offerId) || []).filter((item) => item.content.target === target);
    return found.length ? found[found.length - 1] : null;
  }

  /**
   * The drafts addressed to one interpreter, newest version of each line and
   * language only: [{ref, target, draft, shown, entry}], oldest line first.
   */
  desk(interpreterId) {
    const items = [];
    for (const [ref, drafts] of this.drafts) {
      const entry = this.lines.get(ref);
      if (!entry || entry.withdrawn) continue;
      const version = versionOf(entry);
      const mine = drafts.filter((d) => d.to === interpreterId && d.content.version === version);
      const byTarget = new Map();
      for (const draft of mine) byTarget.set(draft.content.target, draft);
      for (const [target, draft] of byTarget) {
        items.push({ ref, target, draft, shown: this.shown(ref, target), entry });
      }
    }
    return items.sort((a, b) => a.ref - b.ref || a.target.localeCompare(b.target));
  }
}
