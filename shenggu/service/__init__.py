"""The HTTP service: FastAPI app, one router per API area, JSON errors."""
