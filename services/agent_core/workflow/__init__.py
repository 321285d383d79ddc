"""Workflows as data: definitions (:mod:`.model`), expressions (:mod:`.expressions`), the
engine (:mod:`.engine`) and the run store (:mod:`.runs`)."""
