"""Scale-out: transcribing archives of recordings on this machine or over a Ray cluster.

``work`` is one file's transcription (the same code in a local thread and in a Ray worker), ``executors`` runs
it locally or as Ray tasks, ``archive`` plans the outputs of a folder or manifest, skips what is done and
records failures. The service and the CLI call these; they call the capabilities.
"""
