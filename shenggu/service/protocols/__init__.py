"""Other clients' protocols on top of shenggu's capabilities: FunASR, Wyoming, OpenAI Realtime."""
