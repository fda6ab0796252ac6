// How rooms, people and room notices are named on screen (all from the
// catalogue): shared by the chat view, the banner and the console.

import { isCaucus, t } from "./dom.js";

/** Names a room for the viewer: parties see "Private session", mediators which one. */
export function roomLabel(room, store, parties = []) {
  if (room === "joint") return t("room.room.joint");
  if (room === "lobby") return t("room.room.lobby");
  if (!isCaucus(room)) return room;
  if (!store.isMediator) return t("room.room.private");
  const suffix = room.slice("caucus-".length);
  const party = parties.find((p) => p.role === suffix);
  if (party) return t("room.room.caucus_with", { who: t(`room.role.${party.role}`) });
  return t("room.room.caucus_named", { name: suffix });
}

/** A person's name as the viewer should read it. */
export function personName(id, store, { author = false } = {}) {
  if (store.me && id === store.me.id) return t(author ? "room.you_author" : "room.you");
  const person = store.names.get(id);
  if (!person) return t("room.someone");
  return person.name || t(`room.kind.${person.kind}`);
}

/** A short role label: mediator, party (claimant/respondent), interpreter… */
export function roleLabel(person, parties = []) {
  if (!person) return "";
  if (person.kind === "party") {
    const party = parties.find((p) => p.id === person.side);
    if (party) return t(`room.role.${party.role}`);
  }
  return t(`room.kind.${person.kind}`);
}

function names(ids, store) {
  return (ids || []).map((id) => personName(id, store)).join(t("room.list_separator"));
}

/** The text of a notice line (not chat), or null when it is not shown. */
export function noticeText(entry, store, parties) {
  const c = entry.line.content || {};
  switch (entry.kind) {
    case "placement":
      // a mediator reads every move in the room.move and lobby.admit lines
      if (store.isMediator && entry.line.visibility !== `participant:${store.me.id}`) return null;
      if (c.placement === "lobby") return t("room.notice.to_lobby");
      return t("room.notice.placed", { room: roomLabel(c.placement, store, parties) });
    case "lobby.admit":
      return t("room.notice.admitted", { who: names(c.participants, store), room: roomLabel(c.to, store, parties) });
    case "room.move":
      return t("room.notice.moved", { who: names(c.participants, store), room: roomLabel(c.to, store, parties) });
    case "lobby.knock":
      return t("room.notice.knock", { who: personName(c.participant, store), room: roomLabel(c.from || "lobby", store, parties) });
    case "lobby.deny":
      return c.participant ? t("room.notice.denied", { who: personName(c.participant, store) }) : null;
    case "room.mute":
      if (c.participants) return t(c.audio ? "room.notice.muted" : "room.notice.unmuted", { who: names(c.participants, store) });
      return t(c.audio ? "room.notice.you_muted" : "room.notice.you_unmuted");
    case "room.remove":
      return c.participant ? t("room.notice.removed", { who: personName(c.participant, store) }) : null;
    case "session.lock":
      return t(c.locked ? "room.notice.locked" : "room.notice.unlocked");
    case "session.open":
      return t("room.notice.opened");
    case "session.end":
      return t("room.notice.ended");
    default:
      return null;
  }
}
