"""The live mediation hub: sessions, lobby, joint room, caucuses, chat."""
