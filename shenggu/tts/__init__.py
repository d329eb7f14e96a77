"""Speech synthesis: voices, a text front-end, engines (Kokoro for Mandarin, Piper for English), streaming."""
