"""Industry solutions built on the speech capabilities (court hearing records, ...)."""
