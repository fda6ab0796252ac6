"""Media: the WebRTC router for room audio and video, the recorder, exports."""
