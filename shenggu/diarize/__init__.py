"""Who spoke when: speaker embeddings, verification against enrolled voices, and diarization."""
