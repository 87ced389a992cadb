"""Item pipelines, small and single-purpose, in order: normalize → validate → dedupe → store."""
