"""The primary-stream consumer (:mod:`.consumer`) and its leases and checkpoints (:mod:`.leases`)."""
